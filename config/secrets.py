"""A wrapper that keeps secret values out of reprs, logs and error messages."""
from __future__ import annotations

import hmac


class Secret:
    """A secret string. It prints as ``'***'``; ``reveal()`` is the only way in."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def matches(self, candidate: str | None) -> bool:
        """Constant-time comparison, so the answer time says nothing of the secret."""
        if candidate is None:
            candidate = ""
        return hmac.compare_digest(self._value.encode(), candidate.encode())

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and self.matches(other._value)

    def __hash__(self) -> int:
        return hash(("Secret", len(self._value)))

    def __reduce__(self):  # never pickled into a job or a cache
        raise TypeError("a Secret is never serialised")
