"""Who may read jobs and act on them: a script with the admin token, or a signed-in operator's page.

``Authorization: Bearer <ADMIN_TOKEN>`` works on every operator route, with no cookie and so no cross-site
risk. Without it, the session cookie does, and a request that changes anything must also come from the
console's own page: its CSRF token (``X-CSRF-Token`` or the form field ``csrf_token``) must be the session's,
and the browser must not say it came from another site (``Sec-Fetch-Site``) or another origin (``Origin``).
Wrong tokens count against their address (``executor.console.lockout``); a lock shows in the signal log.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from flask import Request, abort, request

from config.secrets import Secret
from executor.console.context import Console, console
from executor.console.lockout import LockedOut
from executor.console.sessions import Session
from executor.console.signallog import REFUSED, Guess
from executor.errors import ExecutorError, NotAuthenticated

CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
#: What ``Sec-Fetch-Site`` may say of a request that changes something: the page's own origin, or a person
#: typing or bookmarking (no page at all).
SAME_ORIGIN_SITES = frozenset({"same-origin", "none"})


class CrossSiteRequest(ExecutorError):
    """A request that would change something did not come from the console's own page. Answered 403."""


def require_operator(admin_token: Secret | None, now: datetime, *, changes_state: bool = False) -> str:
    """Let the request through if it carries the admin token or a session (with, to change anything, proof
    that it came from the console's page); say who it is (``api`` or ``console``). 404 where ADMIN_TOKEN is
    not set; raises NotAuthenticated, LockedOut or CrossSiteRequest."""
    if admin_token is None:
        abort(404)
    header = request.headers.get("Authorization")
    if header is not None:
        scheme, _, given = header.partition(" ")
        check_admin_token(admin_token, given.strip() if scheme.lower() == "bearer" else None, now)
        return "api"
    session = console().sessions.current(request)
    if session is None:
        raise NotAuthenticated("sign in on /dashboard, or send Authorization: Bearer <ADMIN_TOKEN>")
    if changes_state:
        require_console_page(session, request)
    return "console"


def check_admin_token(admin_token: Secret, given: str | None, now: datetime) -> None:
    """The token given must be the admin token, and the address not locked out; a wrong one is counted."""
    parts = console()
    parts.admin_lockout.check(request.remote_addr, now)
    if given is not None and admin_token.matches(given):
        return
    verdict = parts.signal_log.record(admin_lockout_entry(parts, now), 401, Guess(
        parts.admin_lockout, request.remote_addr, now, only_when_locked=True))
    if verdict is not None and verdict.locked:
        raise LockedOut(f"too many wrong admin tokens from this address: try again in {verdict.retry_after} s",
                        verdict.retry_after)
    raise NotAuthenticated("missing or wrong token")


def admin_lockout_entry(parts: Console, now: datetime) -> dict[str, Any]:
    """The signal log entry written when wrong admin tokens lock an address out (never the token given)."""
    route = parts.redactor.fields(f"{request.method} {request.path}")
    return {"at": now.isoformat(), "address": request.remote_addr, "route": route, "outcome": REFUSED,
            "reason": "wrong admin token", "fields": None, "jobs": [], "alert": None, "excerpt": None,
            "reason_when_locked": "wrong admin token: {failures} wrong admin tokens from this address, "
                                  "locked out of the admin token until {until}"}


def require_console_page(session: Session, request: Request) -> None:
    """The request came from the console's own page: same origin, and the session's CSRF token."""
    require_same_origin(request)
    given = request.headers.get(CSRF_HEADER) or request.form.get(CSRF_FIELD)
    if not session.csrf_matches(given):
        raise CrossSiteRequest("refused: missing or wrong CSRF token; reload the console")


def require_same_origin(request: Request) -> None:
    """What the browser says of where the request came from, when it says anything, is this origin."""
    site = request.headers.get("Sec-Fetch-Site")
    if site is not None and site not in SAME_ORIGIN_SITES:
        raise CrossSiteRequest(f"refused: a request from another site ({site}) cannot act on jobs")
    origin = request.headers.get("Origin")
    if origin is not None and _host_of(origin) != _host_of(f"{request.scheme}://{request.host}"):
        raise CrossSiteRequest("refused: a request from another origin cannot act on jobs")


def _host_of(origin: str) -> str | None:
    """``host:port`` of an origin, the default port of its scheme left out; None when unreadable (``null``)."""
    try:
        parts = urlsplit(origin)
        port = parts.port
    except ValueError:
        return None
    if not parts.hostname:
        return None
    default = {"http": 80, "https": 443}.get(parts.scheme)
    return parts.hostname.lower() + (f":{port}" if port and port != default else "")
