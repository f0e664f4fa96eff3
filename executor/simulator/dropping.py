"""Dropping a connection without any HTTP answer, for the ``drop`` fault.

A Flask view cannot refuse to answer: whatever it raises becomes a 500. So the
view only marks the request, and this WSGI middleware, sitting between the
werkzeug server and Flask, acts on the mark before a single byte is written:
it shuts the client socket down (``werkzeug.socket`` in the environ, set by
werkzeug's development server) and raises ``ConnectionAbortedError``, which
werkzeug's request handler treats as a connection the peer dropped and
swallows without writing anything. The client sees the connection closed with
no response (``RemoteDisconnected`` / a connection error), never a valid answer.
"""
from __future__ import annotations

import socket
from typing import TYPE_CHECKING, Any, Iterable

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

#: Environ key a view sets to ask for the connection to be dropped.
DROP_KEY = "simulator.drop"


def request_drop(environ: dict[str, Any]) -> None:
    """Ask the middleware to drop this request's connection instead of answering."""
    environ[DROP_KEY] = True


class DropConnectionMiddleware:
    """Wraps a WSGI app; closes the connection of requests marked for dropping."""

    def __init__(self, app: WSGIApplication) -> None:
        self.app = app

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        result = self.app(environ, start_response)
        if not environ.get(DROP_KEY):
            return result
        close = getattr(result, "close", None)
        if close is not None:
            close()
        _shut(environ.get("werkzeug.socket"))
        raise ConnectionAbortedError("simulator: connection dropped on purpose")


def _shut(sock: socket.socket | None) -> None:
    if sock is None:
        return
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
