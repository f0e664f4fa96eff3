"""CrossTrade's bearer token, its accounts and its rate limit.

A token is registered with ``POST /_sim/credentials {"venue": "crosstrade",
"token": "...", "accounts": "Sim101,Sim102"}`` (``accounts`` a list or a
comma-separated string; absent: any account name). Account names are
case-insensitive and global to the simulator (one NinjaTrader installation);
a token sees only its own.

The limit is CrossTrade's: 180 requests per minute with a burst of 20, per
token, across every endpoint. The generic gateway limits one path at a time,
and CrossTrade's paths carry the account, so this module keeps the two
windows itself (on the shared limiter, so ``/_sim/reset`` clears them). The
burst window is checked first: a request it refuses uses no quota; one the
minute window refuses still occupies its burst slot for that second (a
simulator simplification, harmless because the minute is full anyway).
"""
from __future__ import annotations

from executor.simulator.crosstrade.protocol import (CODE_INVALID_ACCOUNT, CODE_UNAUTHORIZED, VENUE,
                                                    bearer_token, not_connected_error, rate_limit_error,
                                                    token_label)
from executor.simulator.limits import RateLimit
from executor.simulator.state import Credentials
from executor.simulator.venue import VenueCall, VenueError

#: CrossTrade's documented limits, per token: the burst first, then the minute.
BURST = RateLimit(20, 1.0)
PER_MINUTE = RateLimit(180, 60.0)
WINDOWS = (("burst", BURST), ("minute", PER_MINUTE))


def authenticate(call: VenueCall) -> str:
    """The token's label when it is known and within its limits; ``VenueError`` otherwise."""
    credentials = _credentials(call)
    label = token_label(credentials.identity)
    state = call.state
    if state.config.enforce_limits:
        for name, limit in WINDOWS:
            if not state.limiter.admit((VENUE, label, name), limit, state.now()):
                call.record.rate_limited = True
                raise rate_limit_error()
    return label


def check_connected(call: VenueCall) -> None:
    """408 while the ``connected`` venue option is false: NinjaTrader is not there, nothing is done."""
    if call.state.venue_options(VENUE).get("connected", True) is False:
        raise not_connected_error()


def account_name(call: VenueCall, given: str) -> str:
    """The account as the token knows it (its registered spelling), or ``invalid_account``."""
    granted = _granted_accounts(_credentials(call))
    if granted is None:
        return given
    for name in granted:
        if name.casefold() == given.casefold():
            return name
    raise VenueError(CODE_INVALID_ACCOUNT, f"Account {given} not found", 404)


def granted_accounts(call: VenueCall) -> list[str] | None:
    """The accounts the request's token sees; None for any."""
    return _granted_accounts(_credentials(call))


def _credentials(call: VenueCall) -> Credentials:
    token = bearer_token(call.headers)
    credentials = call.state.credentials(VENUE, token) if token else None
    if credentials is None:
        raise VenueError(CODE_UNAUTHORIZED, "Invalid or missing bearer token", 401)
    return credentials


def _granted_accounts(credentials: Credentials) -> list[str] | None:
    accounts: object = credentials.field("accounts")
    if accounts is None:
        return None
    names = accounts.split(",") if isinstance(accounts, str) else accounts if isinstance(accounts, list) else []
    return [str(name).strip() for name in names if str(name).strip()]
