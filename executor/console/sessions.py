"""Operator sessions: signing in with the admin token gives a session cookie; signing out ends it everywhere.

A session lives in Redis under a digest of its cookie's value (a leaked Redis dump holds no usable cookie),
with its CSRF token and a digest of the admin token it was opened with: changing ``ADMIN_TOKEN`` ends every
session. It lasts ``SESSION_IDLE_SECONDS`` after its last use. The cookie is HttpOnly (no script reads it),
SameSite=Strict (no other site's page sends it) and, when the request came over HTTPS (directly, or through
the proxies ``TRUSTED_PROXIES`` trusts), Secure.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from datetime import datetime

from flask import Request, Response
from redis import Redis

from config.secrets import Secret
from executor.keyspace import key_prefix

COOKIE = "executor_session"
#: A session ends this long after its last use.
SESSION_IDLE_SECONDS = 12 * 3600


@dataclass(frozen=True)
class Session:
    csrf_token: str
    opened_at: str
    address: str | None

    def csrf_matches(self, given: str | None) -> bool:
        return hmac.compare_digest(self.csrf_token.encode(), (given or "").encode())


class Sessions:
    def __init__(self, redis: Redis, queue_name: str, admin_token: Secret | None) -> None:
        self.redis = redis
        self.prefix = f"{key_prefix(queue_name)}session:"
        self.token_digest = _digest(admin_token.reveal()) if admin_token is not None else None

    def open(self, response: Response, request: Request, now: datetime) -> Session:
        """A new session for whoever just gave the admin token, its cookie set on ``response``."""
        value = secrets.token_urlsafe(32)
        session = Session(secrets.token_urlsafe(32), now.isoformat(), request.remote_addr)
        record = {"csrf_token": session.csrf_token, "opened_at": session.opened_at, "address": session.address,
                  "token": self.token_digest}
        self.redis.set(self._key(value), json.dumps(record), ex=SESSION_IDLE_SECONDS)
        response.set_cookie(COOKIE, value, max_age=SESSION_IDLE_SECONDS, path="/", httponly=True,
                            samesite="Strict", secure=request.is_secure)
        return session

    def current(self, request: Request) -> Session | None:
        """The request's session, its life extended; None without a cookie, or for one that ended."""
        value = request.cookies.get(COOKIE)
        if not value or self.token_digest is None:
            return None
        raw = self.redis.getex(self._key(value), ex=SESSION_IDLE_SECONDS)
        if raw is None:
            return None
        record = json.loads(raw)
        if not hmac.compare_digest(str(record.get("token")), self.token_digest):
            return None  # opened with an admin token that has since changed
        return Session(record["csrf_token"], record["opened_at"], record.get("address"))

    def close(self, response: Response, request: Request) -> None:
        """End the request's session, in Redis and in the browser."""
        value = request.cookies.get(COOKIE)
        if value:
            self.redis.delete(self._key(value))
        response.delete_cookie(COOKIE, path="/", httponly=True, samesite="Strict", secure=request.is_secure)

    def _key(self, value: str) -> str:
        return self.prefix + _digest(value)


def _digest(value: str) -> str:
    return hashlib.sha256(b"executor-session:" + value.encode()).hexdigest()
