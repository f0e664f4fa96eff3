"""The OpenAPI 3 document of every route, served at ``GET /openapi.json``.

Kept true by ``tests/test_openapi.py``: schemathesis drives the real web process (gunicorn, Redis, the
simulator) through every operation here and checks each answer against what the document says.
"""
from __future__ import annotations

from functools import lru_cache
from typing import Any

from executor.console.joblist import STATUSES
from executor.console.openapi_schemas import SCHEMAS, ref
from executor.console.signallog import OUTCOMES
from executor.domain import VENUES

JSON = "application/json"
HTML = "text/html"
OPERATOR = [{"bearer": []}, {"session": []}]
RETRY_AFTER = {"Retry-After": {"description": "seconds until the lock ends", "schema": {"type": "integer"}}}


def answer(description: str, schema: str | None = "Error", media: str = JSON, **more: Any) -> dict[str, Any]:
    content = {media: {"schema": ref(schema) if schema else {"type": "string"}}} if media else {}
    return {"description": description, **({"content": content} if content else {}), **more}


def html(description: str) -> dict[str, Any]:
    return answer(description, None, HTML)


def operator_answers(**answers: dict[str, Any]) -> dict[str, Any]:
    """What every operator route may answer besides its own answers."""
    return {
        "400": answer("a query parameter unknown or with a bad value, named"),
        "401": answer("no session and no admin token, or a wrong one"),
        "404": answer("not found; every operator route answers 404 where ADMIN_TOKEN is not set"),
        "414": html("the request line is longer than 4094 bytes: gunicorn refuses it before the app"),
        "429": answer("too many wrong admin tokens from this address", headers=RETRY_AFTER),
        "503": answer("Redis does not answer", headers={"Retry-After": {"schema": {"type": "integer"}}}),
        **answers,
    }


def query(name: str, description: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "description": description,
            "schema": schema or {"type": "string", "minLength": 1, "maxLength": 256}}


def words(allowed: tuple[str, ...]) -> dict[str, Any]:
    return {"type": "string", "pattern": f"^({'|'.join(allowed)})(,({'|'.join(allowed)}))*$"}


PAGING = [
    query("since", "received since: ISO 8601, or 30m, 2h, 1d ago"),
    query("limit", "at most this many (default 50)", {"type": "integer", "minimum": 1, "maximum": 500}),
    query("cursor", "next_cursor of the page before"),
    query("search", "a job id or an alert id"),
]
JOB_ID = {"name": "job_id", "in": "path", "required": True, "schema": {"type": "string"}}


def _webhook() -> dict[str, Any]:
    body = {"schema": ref("Alert"), "example": {"venue": "coinw", "action": "reverse", "symbol": "BTCUSDT.P"}}
    return {"post": {
        "summary": "Receive an alert", "operationId": "webhook", "security": [{"webhook_secret": []}, {}],
        "parameters": [{"name": "X-Webhook-Secret", "in": "header", "required": False,
                        "schema": {"type": "string"}}],
        "requestBody": {"required": True, "content": {JSON: body, "text/plain": body}},
        "responses": {
            "200": answer("already accepted (a duplicate)", "WebhookAnswer"),
            "202": answer("queued: one job, or one per account", "WebhookAnswer"),
            "400": answer("not an alert, field by field", "FieldErrors"),
            "401": answer("missing or wrong secret"),
            "403": answer("sender address not in ALLOWED_IPS"),
            "413": answer("body over 64 KiB"),
            "429": answer("a wrong secret from an address locked out for wrong secrets (a right one is accepted)",
                          headers=RETRY_AFTER),
            "503": answer("Redis cannot take the job: send again"),
        }}}


def _operator_paths() -> dict[str, Any]:
    job_answer = answer("the job", "Job")
    return {
        "/jobs": {"get": {
            "summary": "Jobs, newest alert first", "operationId": "listJobs", "security": OPERATOR,
            "parameters": [query("status", "comma-separated: " + ", ".join(STATUSES), words(STATUSES)),
                           query("venue", "one venue", {"type": "string", "enum": list(VENUES)}),
                           query("symbol", "the symbol as the venue names it or as sent"), *PAGING],
            "responses": operator_answers(**{"200": answer("a page of jobs", "JobPage")})}},
        "/jobs/{job_id}": {"get": {
            "summary": "One job: alert, attempts, events, replays, result or error", "operationId": "getJob",
            "security": OPERATOR, "parameters": [JOB_ID],
            "responses": operator_answers(**{"200": job_answer,
                                             "500": answer("the job's stored data is damaged")})}},
        "/jobs/{job_id}/replay": {"post": {
            "summary": "Replay a failed job (a finished one with force)", "operationId": "replayJob",
            "security": OPERATOR, "parameters": [JOB_ID, {
                "name": "X-CSRF-Token", "in": "header", "required": False, "schema": {"type": "string"},
                "description": "with a session (not with the admin token): the session's CSRF token"}],
            "requestBody": {"required": False, "content": {JSON: {"schema": {
                "type": "object", "properties": {"force": {"type": "boolean"}}}}}},
            "responses": operator_answers(**{
                "202": answer("replayed: the job, queued or waiting its turn", "Job"),
                "403": answer("with a session: not from the console's own page"),
                "409": answer("not replayable now, saying why (pending, or succeeded without force)"),
                "500": answer("the job's stored data is damaged")})}},
        "/alerts": {"get": {
            "summary": "The signal log, newest first", "operationId": "listAlerts", "security": OPERATOR,
            "parameters": [query("outcome", "comma-separated: " + ", ".join(OUTCOMES), words(OUTCOMES)), *PAGING],
            "responses": operator_answers(**{"200": answer("a page of the signal log", "AlertPage")})}},
        "/status": {"get": {
            "summary": "Workers, queue, deferred jobs, funding windows, rate-limit use", "operationId": "status",
            "security": OPERATOR, "responses": operator_answers(**{"200": answer("the health panel", "Status")})}},
    }


def _public_paths() -> dict[str, Any]:
    return {
        "/healthz": {"get": {"summary": "Whether queued jobs will run", "operationId": "healthz",
                             "responses": {"200": answer("Redis answers", "Health"),
                                           "503": answer("Redis does not answer", "Health")}}},
        "/metrics": {"get": {
            "summary": "Prometheus metrics: every process's counts (kept in Redis) and the queue's gauges",
            "operationId": "metrics", "security": [{"bearer": []}, {"metrics_token": []}],
            "responses": {"200": answer("the Prometheus text format", None, "text/plain"),
                          "401": answer("no token, or a wrong one"),
                          "404": answer("neither ADMIN_TOKEN nor METRICS_TOKEN is set"),
                          "503": answer("Redis does not answer", headers={"Retry-After": {"schema": {
                              "type": "integer"}}})}}},
        "/openapi.json": {"get": {"summary": "This document", "operationId": "openapi",
                                  "responses": {"200": {"description": "OpenAPI 3", "content": {
                                      JSON: {"schema": {"type": "object"}}}}}}},
    }


def _dashboard_paths() -> dict[str, Any]:
    form = {"application/x-www-form-urlencoded": {"schema": {
        "type": "object", "properties": {"token": {"type": "string"}}, "required": ["token"]}}}
    see_page = {"description": "to /dashboard", "headers": {"Location": {"schema": {"type": "string"}}}}
    return {
        "/dashboard": {"get": {"summary": "The operator console (signed in) or its sign-in form",
                               "operationId": "dashboard", "responses": {
                                   "200": html("the page"), "404": html("ADMIN_TOKEN is not set")}}},
        "/dashboard/static/{name}": {"get": {
            "summary": "The page's script and style", "operationId": "dashboardStatic",
            "parameters": [{"name": "name", "in": "path", "required": True, "schema": {"type": "string"}}],
            "responses": {"200": {"description": "the file", "content": {
                "text/javascript": {"schema": {"type": "string"}}, "text/css": {"schema": {"type": "string"}}}},
                "404": answer("no such file")}}},
        "/dashboard/sign-in": {"post": {
            "summary": "Sign in with the admin token: a session cookie", "operationId": "signIn",
            "requestBody": {"required": True, "content": form},
            "responses": {"303": see_page, "400": html("no token given"), "401": html("wrong admin token"),
                          "403": html("from another site"), "404": html("ADMIN_TOKEN is not set"),
                          "429": {**html("locked out"), "headers": RETRY_AFTER},
                          "503": answer("Redis does not answer")}}},
        "/dashboard/sign-out": {"post": {
            "summary": "End the session", "operationId": "signOut",
            "requestBody": {"required": False, "content": {"application/x-www-form-urlencoded": {"schema": {
                "type": "object", "properties": {"csrf_token": {"type": "string"}}}}}},
            "responses": {"303": see_page, "403": html("not from the console's own page"),
                          "404": html("ADMIN_TOKEN is not set"), "503": answer("Redis does not answer")}}},
    }


@lru_cache(maxsize=1)
def document() -> dict[str, Any]:
    return {
        "openapi": "3.0.3",
        "info": {"title": "Signal executor", "version": "1",
                 "description": "Chart alerts in, venue orders out; the operator's view of signals and jobs."},
        "paths": {"/webhook": _webhook(), **_operator_paths(), **_public_paths(), **_dashboard_paths()},
        "components": {"schemas": SCHEMAS, "securitySchemes": {
            "bearer": {"type": "http", "scheme": "bearer", "description": "ADMIN_TOKEN"},
            "metrics_token": {"type": "http", "scheme": "bearer", "description": "METRICS_TOKEN (GET /metrics only)"},
            "session": {"type": "apiKey", "in": "cookie", "name": "executor_session",
                        "description": "from POST /dashboard/sign-in"},
            "webhook_secret": {"type": "apiKey", "in": "header", "name": "X-Webhook-Secret",
                               "description": "or the body's secret field"}}},
    }
