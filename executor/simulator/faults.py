"""Injected faults: rules that make the next matching venue requests misbehave.

A rule matches a venue, optionally one exact path and one method, and fires
``count`` times (``None``: until cleared). When several rules match a request
the oldest one fires; one request triggers at most one rule.

Kinds (``when`` is "before" or "after" the venue performs the action):

- ``latency``: wait ``latency_ms`` before performing, or after performing and
  before answering (a client times out although the action happened).
- ``http_error``: a bare 5xx page instead of the venue's answer.
- ``drop``: close the TCP connection without any HTTP answer.
- ``rate_limit``: the venue's own rate-limit answer, or the envelope given by
  ``code``/``message``/``status`` (CoinW's body code ``429`` with HTTP 200,
  say); nothing performed.
- ``funding``: the venue's answer during funding settlement; nothing performed.
- ``reject``: a venue error envelope with ``code``/``message``/``status``;
  before the action (nothing performed), or after it: the action is performed
  and its answer replaced by the error (a CrossTrade 408 from a relay that
  timed out after forwarding).
"""
from __future__ import annotations

import itertools
import threading
from dataclasses import asdict, dataclass, replace
from typing import Any, TypeGuard

KINDS = ("latency", "http_error", "drop", "rate_limit", "funding", "reject")
WHENS = ("before", "after")

#: Kinds whose ``when`` is meaningful; the others always act before the action.
TIMED_KINDS = ("latency", "http_error", "drop", "reject")

#: Longest injectable latency, so a forgotten rule cannot hang a test run.
MAX_LATENCY_MS = 60_000


class FaultError(ValueError):
    """A fault rule in a control request is malformed; the message says why."""


@dataclass(frozen=True)
class FaultRule:
    id: int
    venue: str
    kind: str
    count: int | None = 1
    path: str | None = None
    method: str | None = None
    when: str = "before"
    latency_ms: int = 0
    status: int | None = None
    code: int | str | None = None
    message: str | None = None

    def matches(self, venue: str, method: str, path: str) -> bool:
        return (self.venue == venue
                and (self.path is None or self.path == path)
                and (self.method is None or self.method == method))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def parse_fault(rule_id: int, spec: dict[str, Any]) -> FaultRule:
    """Validate a control-API fault description into a rule."""
    kind = spec.get("kind")
    if kind not in KINDS:
        raise FaultError(f"kind must be one of {', '.join(KINDS)}")
    venue = spec.get("venue")
    if not isinstance(venue, str) or not venue:
        raise FaultError("venue is required")
    when = spec.get("when", "before")
    if when not in WHENS:
        raise FaultError("when must be 'before' or 'after'")
    rule = FaultRule(id=rule_id, venue=venue, kind=kind, count=_count(spec),
                     path=_optional_str(spec, "path"), when=when if kind in TIMED_KINDS else "before",
                     method=(_optional_str(spec, "method") or "").upper() or None,
                     message=_optional_str(spec, "message"))
    return _with_kind_fields(rule, spec)


def _with_kind_fields(rule: FaultRule, spec: dict[str, Any]) -> FaultRule:
    if rule.kind == "latency":
        latency: object = spec.get("latency_ms")
        if not _is_int(latency) or not 0 <= latency <= MAX_LATENCY_MS:
            raise FaultError(f"latency_ms must be an integer from 0 to {MAX_LATENCY_MS}")
        return replace(rule, latency_ms=latency)
    if rule.kind == "http_error":
        status = spec.get("status", 503)
        if not _is_int(status) or not 500 <= status <= 599:
            raise FaultError("status must be an HTTP 5xx status")
        return replace(rule, status=status)
    if rule.kind == "reject":
        code = spec.get("code")
        if not isinstance(code, (int, str)) or isinstance(code, bool):
            raise FaultError("code is required for a reject fault")
        return replace(rule, code=code, status=_status(spec, 200))
    if rule.kind == "rate_limit" and spec.get("code") is not None:
        code = spec["code"]
        if not isinstance(code, (int, str)) or isinstance(code, bool):
            raise FaultError("code must be a number or a string")
        return replace(rule, code=code, status=_status(spec, 429))
    if rule.kind == "funding" and spec.get("code") is not None:
        return replace(rule, code=spec["code"])
    return rule


def _status(spec: dict[str, Any], default: int) -> int:
    status = spec.get("status", default)
    if not _is_int(status) or not 100 <= status <= 599:
        raise FaultError("status must be an HTTP status")
    return status


def _count(spec: dict[str, Any]) -> int | None:
    count: object = spec.get("count", 1)
    if count is None:
        return None
    if not _is_int(count) or count < 1:
        raise FaultError("count must be a positive integer or null")
    return count


def _optional_str(spec: dict[str, Any], name: str) -> str | None:
    value = spec.get(name)
    if value is not None and not isinstance(value, str):
        raise FaultError(f"{name} must be a string")
    return value or None


def _is_int(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


class FaultBook:
    """The active fault rules, consumed as they fire."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rules: list[FaultRule] = []
        self._ids = itertools.count(1)

    def add(self, spec: dict[str, Any]) -> FaultRule:
        with self._lock:
            rule = parse_fault(next(self._ids), spec)
            self._rules.append(rule)
            return rule

    def take(self, venue: str, method: str, path: str) -> FaultRule | None:
        """The rule that fires for this request, if any, using up one of its count."""
        if not self._rules:
            return None
        with self._lock:
            for index, rule in enumerate(self._rules):
                if rule.matches(venue, method, path):
                    self._consume(index, rule)
                    return rule
        return None

    def _consume(self, index: int, rule: FaultRule) -> None:
        if rule.count is None:
            return
        if rule.count <= 1:
            del self._rules[index]
        else:
            self._rules[index] = replace(rule, count=rule.count - 1)

    def rules(self) -> list[FaultRule]:
        with self._lock:
            return list(self._rules)

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()
