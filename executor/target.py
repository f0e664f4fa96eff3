"""Alerts that say where the position should be (``market_position``): read it, decide, then act.

The decision is the same on every venue, made from the positions the venue reports:

- the venue is already where the alert wants it: nothing is sent, and the job finishes with the
  outcome ``already long`` (``already short``, ``already flat``). So a re-sent or doubled target alert
  does nothing the second time;
- with ``prev_market_position``, a venue side that is neither the previous one nor the target means the
  strategy and the account disagree: ``OutOfSync``, nothing is sent;
- flat, and the target long or short: ``WouldOpenPosition`` (the product reverses and closes positions;
  it does not open them);
- the opposite side: reverse the whole position; target ``flat``: close all of it.

The action is performed by the adapter's own reverse or close, so it keeps all they keep: the send
guard (rate limits, funding windows, the worker's hold), the client order id where the venue takes
one, and the in-flight record, marked with the action, so a lost answer is reconciled as that action.
"""
from __future__ import annotations

from dataclasses import replace
from decimal import Decimal, InvalidOperation
from typing import Any

from executor.domain import ACTIONS, ActionResult, Alert, Position
from executor.errors import AmbiguousPosition, OutcomeUnknown, OutOfSync, PositionChanged, WouldOpenPosition
from executor.history import ALREADY_THERE, SENT
from executor.venues import get_venue
from executor.venues.spec import Journal, VenueAdapter

FLAT = "flat"


def decide(found: str, target: str, previous: str | None = None) -> str | None:
    """The action that brings the venue's side ``found`` to ``target``; None when it is already there.

    Raises ``OutOfSync`` or ``WouldOpenPosition`` (with a message the caller completes) when no action
    the product has can, or should, get there.
    """
    if found == target:
        return None
    if previous is not None and found != previous:
        raise OutOfSync(f"neither the previous position ({previous}) nor the target ({target})")
    if found == FLAT:
        raise WouldOpenPosition(f"flat, and the target is {target}")
    return "close" if target == FLAT else "reverse"


def act_toward_target(adapter: VenueAdapter, alert: Alert, journal: Journal) -> tuple[ActionResult, str]:
    """Bring the alert's instrument (in its account) to ``alert.market_position``: (the result, the outcome)."""
    target = alert.market_position
    assert target is not None, "only target alerts come here"
    positions = adapter.open_positions(alert)
    journal.note("position_read", [position.to_record() for position in positions])
    found = _side(alert, positions)
    try:
        action = decide(found, target, alert.prev_market_position)
    except OutOfSync as exc:
        raise OutOfSync(f"out of sync: {_where(alert)} is {_words(positions)} on the venue, {exc}; "
                        f"nothing was sent") from None
    except WouldOpenPosition:
        raise WouldOpenPosition(f"{_where(alert)} is flat on the venue and the target is {target}: this product "
                                f"reverses and closes positions but does not open them; nothing was sent") from None
    if action is None:
        outcome = ALREADY_THERE[target]
        detail = {"outcome": outcome, "market_position": target, "found": _words(positions)}
        return ActionResult(alert.venue, None, None, detail), outcome
    if len(positions) > 1:
        raise AmbiguousPosition(f"{_where(alert)} has {len(positions)} open positions ({_words(positions)}); a "
                                f"target position is reached by acting on one position: nothing was sent")
    journal.note("target", {"market_position": target, "found": found, "action": action})
    result = adapter.perform(acting_alert(alert, action), _ActingJournal(journal, alert, action, positions[0]))
    detail = {**result.detail, "market_position": target}
    return ActionResult(result.venue, result.action, result.order_id, detail), SENT


def acting_alert(alert: Alert, action: str) -> Alert:
    """The target alert as the action it resolved to, for the adapter's reverse or close."""
    return replace(alert, action=action, market_position=None, prev_market_position=None)


def reconciling_alert(alert: Alert, in_flight: dict[str, Any]) -> Alert:
    """The alert an earlier attempt's lost request is reconciled as: a target alert as the action it sent."""
    if alert.market_position is None:
        return alert
    action = (in_flight.get("target") or {}).get("action")
    if action not in ACTIONS:
        raise OutcomeUnknown(alert.venue, None, "the lost request of this target alert did not record its action; "
                                                "check the position by hand")
    return acting_alert(alert, action)


class _ActingJournal:
    """The attempt's journal while the adapter acts toward a target. Its in-flight record carries the action
    (for reconciliation), and the request leaves only if the adapter acts on the position the decision was
    made from."""

    def __init__(self, journal: Journal, alert: Alert, action: str, decided_on: Position) -> None:
        self.journal = journal
        self.alert = alert
        self.action = action
        self.decided_on = decided_on

    @property
    def idempotency_key(self) -> str:
        return self.journal.idempotency_key

    def note(self, key: str, value: Any) -> None:
        self.journal.note(key, value)

    def sending(self, what: dict[str, Any]) -> None:
        before = what.get("position_before") or {}
        if before.get("side") != self.decided_on.side or _decimal(before.get("size")) != self.decided_on.size:
            raise PositionChanged(f"{_where(self.alert)} changed while the job ran: it was {_words([self.decided_on])} "
                                  f"when the {self.action} was decided, then {before.get('side')} "
                                  f"{before.get('size')}; nothing was sent")
        self.journal.sending({**what, "target": {"market_position": self.alert.market_position,
                                                 "action": self.action}})


def _side(alert: Alert, positions: list[Position]) -> str:
    """``long``, ``short`` or ``flat``; both sides open at once (hedge mode, CoinW) has no one side."""
    sides = {position.side for position in positions}
    if len(sides) > 1:
        raise AmbiguousPosition(f"{_where(alert)} has positions on both sides ({_words(positions)}): a target "
                                f"position needs one side; nothing was sent")
    return sides.pop() if sides else FLAT


def _where(alert: Alert) -> str:
    account = f" in account {alert.account}" if alert.account else ""
    return f"{get_venue(alert.venue).label} {alert.symbol}{account}"


def _words(positions: list[Position]) -> str:
    """``long 10``, ``long 1 (id 7), short 2 (id 9)``, or ``flat``."""
    several = len(positions) > 1
    return ", ".join(f"{p.side} {p.size}" + (f" (id {p.position_id})" if several and p.position_id else "")
                     for p in positions) or FLAT


def _decimal(value: Any) -> Decimal | None:
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
