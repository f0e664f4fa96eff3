"""``/dashboard``: the operator console's page, its sign-in form, signing in and out.

The page is served whole by the web process: HTML from a template, one script and one style sheet, nothing
from elsewhere (it works with no internet). Without a session it is only the sign-in form; signed in, its
script reads the same JSON routes a script would (``/jobs``, ``/alerts``, ``/status``) every few seconds.
Every HTML answer forbids framing and any script or style not from this origin.
"""
from __future__ import annotations

from flask import Blueprint, Response, make_response, redirect, render_template, request

from executor.console.access import (CSRF_FIELD, CrossSiteRequest, check_admin_token, require_console_page,
                                     require_same_origin)
from executor.console.context import console, services
from executor.console.lockout import LockedOut
from executor.errors import NotAuthenticated

page = Blueprint("console_page", __name__, template_folder="templates", static_folder="static",
                 static_url_path="/dashboard/static")

#: How often the page asks for jobs and the signal log, and for the health panel (milliseconds).
POLL_MS = 2000
STATUS_POLL_MS = 5000
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
                               "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


@page.after_request
def secure_headers(response: Response) -> Response:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    return response


@page.get("/dashboard")
def dashboard() -> Response:
    if services().settings.admin_token is None:
        return _console_off()
    session = console().sessions.current(request)
    if session is None:
        return _html("sign_in.html", 200)
    return _html("dashboard.html", 200, csrf_token=session.csrf_token, poll_ms=POLL_MS,
                 status_poll_ms=STATUS_POLL_MS, csrf_field=CSRF_FIELD)


@page.post("/dashboard/sign-in")
def sign_in() -> Response:
    ctx = services()
    if ctx.settings.admin_token is None:
        return _console_off()
    try:
        require_same_origin(request)
    except CrossSiteRequest as exc:
        return _html("sign_in.html", 403, error=str(exc))
    given = request.form.get("token", "").strip()
    if not given:
        return _html("sign_in.html", 400, error="Enter the admin token.")
    try:
        check_admin_token(ctx.settings.admin_token, given, ctx.clock())
    except LockedOut as exc:
        response = _html("sign_in.html", 429, error=f"Too many wrong admin tokens from this address: try again "
                                                    f"in {exc.retry_after} s.")
        response.headers["Retry-After"] = str(exc.retry_after)
        return response
    except NotAuthenticated:
        return _html("sign_in.html", 401, error="Wrong admin token.")
    response = redirect("/dashboard", 303)
    console().sessions.open(response, request, ctx.clock())
    return response


@page.post("/dashboard/sign-out")
def sign_out() -> Response:
    if services().settings.admin_token is None:
        return _console_off()
    parts = console()
    session = parts.sessions.current(request)
    if session is not None:
        try:
            require_console_page(session, request)
        except CrossSiteRequest as exc:
            return _message(403, "Refused", str(exc))
    response = redirect("/dashboard", 303)
    parts.sessions.close(response, request)
    return response


def _console_off() -> Response:
    return _message(404, "The console is off", "Set ADMIN_TOKEN in the web process's environment to use it.")


def _message(status: int, title: str, text: str) -> Response:
    return _html("message.html", status, title=title, text=text)


def _html(template: str, status: int, **context: object) -> Response:
    response = make_response(render_template(template, **context), status)
    response.mimetype = "text/html"
    return response
