"""What of a webhook request may be kept in the signal log: its fields without secrets, bounded in size.

A field whose name looks like a credential's (secret, token, password, passphrase, key...) is kept by name
only, its value replaced; the configured secrets are blotted out wherever their text appears, even in a
field of another name or in a body that is not JSON. A body that is not JSON is kept as a short excerpt
with every character that is not printable escaped, so the page shows what arrived without running it.
"""
from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Any, Iterable

#: Field names taken for credentials, wherever they appear in a body (case-insensitive, anywhere in the name).
SECRET_NAME = re.compile(r"secret|token|passw|passphrase|key|auth|credential|signature|cookie|session", re.I)
#: What replaces a hidden value.
HIDDEN = "***"
#: At most this many fields of an object are kept (the rest are counted, not shown).
MAX_FIELDS = 40
#: Nesting deeper than this is shown as a placeholder.
MAX_DEPTH = 4
#: A text value longer than this is cut, saying so.
MAX_TEXT = 200
#: The excerpt of a body that is not JSON: at most this many characters.
MAX_EXCERPT = 300
#: ``name = value`` or ``"name": "value"`` in a body that is not JSON, where the name looks like a credential's.
_SECRET_ASSIGNMENT = re.compile(
    r"""((?:secret|token|passw\w*|passphrase|key|auth\w*)["']?\s*[:=]\s*["']?)([^"'&,;\s}\x00-\x1f\x7f]+)""", re.I)


class Redactor:
    """Hides the given secret values (the webhook secret, the admin token) and credential-named fields."""

    def __init__(self, secrets: Iterable[str]) -> None:
        values = {value for value in secrets if value}
        # JSON escapes some characters: the raw body may carry the secret in its escaped spelling.
        values |= {json.dumps(value)[1:-1] for value in values}
        self._secrets = sorted(values, key=len, reverse=True)

    def text(self, value: str) -> str:
        """``value`` with every configured secret replaced."""
        for secret in self._secrets:
            value = value.replace(secret, HIDDEN)
        return value

    def fields(self, value: Any, depth: int = 0) -> Any:
        """A JSON value as the signal log keeps it: credentials hidden, texts and collections bounded."""
        if isinstance(value, dict):
            return self._object(value, depth)
        if isinstance(value, list):
            kept = [self.fields(item, depth + 1) for item in value[:MAX_FIELDS]] if depth < MAX_DEPTH else []
            if len(value) > len(kept):
                kept.append(f"… {len(value) - len(kept)} more")
            return kept
        if isinstance(value, str):
            return _cut(self.text(value), MAX_TEXT)
        if isinstance(value, Decimal):
            return _cut(str(value), MAX_TEXT)  # exactly as sent, whatever its length
        return value  # int, bool, None

    def _object(self, value: dict[str, Any], depth: int) -> dict[str, Any]:
        if depth >= MAX_DEPTH:
            return {"…": f"{len(value)} fields, nested too deep to show"}
        kept: dict[str, Any] = {}
        for name, item in list(value.items())[:MAX_FIELDS]:
            shown_name = _cut(self.text(str(name)), MAX_TEXT)
            kept[shown_name] = HIDDEN if SECRET_NAME.search(str(name)) else self.fields(item, depth + 1)
        if len(value) > MAX_FIELDS:
            kept["…"] = f"{len(value) - MAX_FIELDS} more fields"
        return kept

    def excerpt(self, raw: bytes) -> str:
        """The start of a body that is not JSON: secrets hidden, then cut, then escaped to printable text."""
        text = raw[: MAX_EXCERPT * 4].decode("utf-8", errors="backslashreplace")
        text = _SECRET_ASSIGNMENT.sub(lambda match: match.group(1) + HIDDEN, self.text(text))
        cut = len(text) > MAX_EXCERPT or len(raw) > MAX_EXCERPT * 4
        shown = "".join(_printable(character) for character in text[:MAX_EXCERPT])
        return shown + (f"… ({len(raw)} bytes)" if cut else "")


def _printable(character: str) -> str:
    if character.isprintable() or character == " ":
        return character
    return character.encode("unicode_escape", errors="backslashreplace").decode("ascii")


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit] + f"… ({len(text)} characters)"
