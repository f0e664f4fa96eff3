"""A Redis Lua script the product runs by its digest, on whichever connection it is handed.

Every move of a job between the queue, RQ's registries and a lane is one script: Redis runs a script
whole or not at all, and a script that was cut off before it reached Redis is simply sent again. Each
script checks the state it moves from before writing anything, so a second run of the same move (the
client resending after a lost answer) finds the move made and changes nothing.
"""
from __future__ import annotations

from typing import Any, Sequence

from redis import Redis
from redis.commands.core import Script


class LuaScript:
    """A script loaded on first use. It is run by digest and loaded again into a Redis that lost it (a restart)."""

    def __init__(self, source: str) -> None:
        self.source = source
        self._script: Script | None = None

    def __call__(self, connection: Redis, keys: Sequence[Any], args: Sequence[Any]) -> Any:
        if self._script is None:
            self._script = connection.register_script(self.source)
        return self._script(keys=list(keys), args=list(args), client=connection)


def text(value: Any) -> str:
    """A script's answer as text (Redis answers bytes)."""
    return value.decode() if isinstance(value, bytes) else str(value)
