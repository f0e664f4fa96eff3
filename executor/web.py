"""Routes: each parses, calls one service function, and leaves error answers to one place."""
from __future__ import annotations

import ipaddress
import json
import logging
from typing import NoReturn

from flask import Blueprint, Flask, Response, abort, current_app, jsonify, request
from redis.exceptions import RedisError
from werkzeug.exceptions import HTTPException

from config.secrets import Secret
from executor.alertwatch import observe_webhook, tell_accepted
from executor.app import Services
from executor.console.access import CrossSiteRequest, require_operator
from executor.console.context import console
from executor.console.joblist import detail
from executor.console.lockout import LockedOut
from executor.console.signals import Observation, Signal, observation, observe, record_signal, record_wrong_secret
from executor.errors import AddressNotAllowed, BadAlert, NotAuthenticated, ServiceUnavailable
from executor.health import health
from executor.intake import Intake, authenticate, parse_body, validate_alert
from executor.jobview import UnreadableJob, describe, fetch_job
from executor.metrics.exposition import render
from executor.accounts import display
from executor.queueing import Submission, submit_all
from executor.replay import JobNotFound, ReplayRefused, replay

log = logging.getLogger(__name__)
blueprint = Blueprint("executor", __name__)


def services() -> Services:
    return current_app.extensions["executor"]


@blueprint.post("/webhook")
def webhook() -> tuple[Response, int]:
    ctx = services()
    seen = observe()
    check_address(ctx)
    seen.raw = request.get_data(cache=False)
    body = seen.body = parse_body(seen.raw)
    try:
        authenticate(body, request.headers.get("X-Webhook-Secret"), ctx.settings.webhook_secret)
    except NotAuthenticated:
        refuse_wrong_secret(seen)
    received_at = ctx.clock()
    intake = validate_alert(body, ctx.settings, received_at)
    submissions = seen.submissions = submit_all(ctx.queue, intake, received_at, ctx.settings.job_retention_days,
                                                ctx.settings.dedupe_window)
    tell_accepted(ctx, intake, submissions, received_at, seen.address)
    return webhook_answer(intake, submissions)


def webhook_answer(intake: Intake, submissions: list[Submission]) -> tuple[Response, int]:
    """One account: the job, as always. Several: the list of jobs, one per account, in the alert's order;
    200 when every one of them had already been accepted, 202 when any is new."""
    every_duplicate = all(submission.duplicate for submission in submissions)
    status = 200 if every_duplicate else 202
    if not intake.several:
        (submission,) = submissions
        if submission.duplicate:
            return jsonify(job_id=submission.job_id, status=submission.status, duplicate=True), status
        return jsonify(job_id=submission.job_id, status=submission.status), status
    jobs = [{"account": display(submission.account), "job_id": submission.job_id, "status": submission.status,
             **({"duplicate": True} if submission.duplicate else {})} for submission in submissions]
    if every_duplicate:
        return jsonify(jobs=jobs, duplicate=True), status
    return jsonify(jobs=jobs), status


def refuse_wrong_secret(seen: Observation) -> NoReturn:
    """401, or 429 once the address is locked out for wrong secrets; its signal log entry says which."""
    verdict = record_wrong_secret(console(), seen)
    if verdict.locked:
        raise LockedOut(f"too many wrong secrets from this address: wrong ones are refused for "
                        f"{verdict.retry_after} s (a right secret is still accepted)", verdict.retry_after) from None
    raise NotAuthenticated("missing or wrong secret") from None


@blueprint.after_request
def after_webhook(response: Response) -> Response:
    seen = observation()
    if request.endpoint == "executor.webhook" and seen is not None:
        webhook_answered(Signal.of(seen, response))
    return response


def webhook_answered(signal: Signal) -> None:
    """Every webhook request ends here once answered, accepted or refused: the one place for what each
    leaves behind (its signal log entry; its count, and a refusal's log line and summary)."""
    record_signal(console(), signal)
    observe_webhook(services(), signal)


@blueprint.get("/jobs/<job_id>")
def job_status(job_id: str) -> Response:
    ctx = services()
    require_operator(ctx.settings.admin_token, ctx.clock())
    job = fetch_job(ctx.redis, job_id)
    if job is None:
        abort(404, description=f"no job {job_id}")
    return jsonify(detail(job))


@blueprint.post("/jobs/<job_id>/replay")
def job_replay(job_id: str) -> tuple[Response, int]:
    ctx = services()
    who = require_operator(ctx.settings.admin_token, ctx.clock(), changes_state=True)
    job = replay(ctx.queue, job_id, origin=f"{who}:{request.remote_addr or 'unknown'}", now=ctx.clock(),
                 force=replay_force_flag())
    log.info("job %s replayed from %s", job_id, request.remote_addr)
    return jsonify(describe(job)), 202


def replay_force_flag() -> bool:
    """The optional body ``{"force": true}``; no body means not forced."""
    if not request.get_data(cache=True).strip():
        return False
    try:
        body = json.loads(request.get_data(cache=True))
    except (ValueError, RecursionError):  # not JSON, not UTF-8, or nested past what the decoder reads
        body = None
    force = body.get("force", False) if isinstance(body, dict) else None
    if not isinstance(force, bool):
        abort(400, description='the body, when given, is JSON {"force": true|false}')
    return force


@blueprint.get("/metrics")
def metrics() -> Response:
    """Prometheus exposition of every process's counts (kept in Redis) and the queue's gauges."""
    ctx = services()
    require_token(ctx, ctx.settings.observability.metrics_token, ctx.settings.admin_token)
    ctx.metrics.flush()  # this process's latest counts too
    body, content_type = render(ctx.queue)
    return Response(body, content_type=content_type)


@blueprint.get("/healthz")
def healthz() -> tuple[Response, int]:
    """200 while Redis answers, with whether anything will run the queued jobs; 503 when it does not."""
    ctx = services()
    try:
        ctx.redis.ping()
        seen = health(ctx.queue)
    except RedisError as exc:
        return jsonify(status="unavailable", redis=type(exc).__name__), 503
    ctx.watch.check(seen)
    return jsonify(status="ok", workers=seen.workers, oldest_waiting_seconds=seen.oldest_waiting_seconds), 200


def check_address(ctx: Services) -> None:
    networks = ctx.settings.allowed_networks
    if not networks:
        return
    try:
        address = ipaddress.ip_address(request.remote_addr or "")
    except ValueError:
        raise AddressNotAllowed("unreadable client address") from None
    if not any(address in network for network in networks):
        raise AddressNotAllowed(f"address {address} is not allowed")


def require_token(ctx: Services, *tokens: Secret | None) -> None:
    """A bearer token matching one of ``tokens``; a route none of them is set for answers 404."""
    accepted = [token for token in tokens if token is not None]
    if not accepted:
        abort(404)
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    matches = [token.matches(given.strip()) for token in accepted]  # each compared, in constant time
    if scheme.lower() != "bearer" or not any(matches):
        raise NotAuthenticated("missing or wrong token")


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(BadAlert)
    def bad_alert(exc: BadAlert) -> tuple[Response, int]:
        return jsonify(error=str(exc), fields=exc.fields), 400

    @app.errorhandler(NotAuthenticated)
    def not_authenticated(exc: NotAuthenticated) -> tuple[Response, int]:
        return jsonify(error="unauthorized"), 401

    @app.errorhandler(AddressNotAllowed)
    def not_allowed(exc: AddressNotAllowed) -> tuple[Response, int]:
        return jsonify(error=str(exc)), 403  # logged with every other refusal (``executor.alertwatch``)

    @app.errorhandler(LockedOut)
    def locked_out(exc: LockedOut) -> tuple[Response, int]:
        response = jsonify(error=str(exc))
        response.headers["Retry-After"] = str(exc.retry_after)
        return response, 429

    @app.errorhandler(CrossSiteRequest)
    def cross_site(exc: CrossSiteRequest) -> tuple[Response, int]:
        log.warning("%s (from %s)", exc, request.remote_addr)
        return jsonify(error=str(exc)), 403

    @app.errorhandler(JobNotFound)
    def job_not_found(exc: JobNotFound) -> tuple[Response, int]:
        return jsonify(error=str(exc)), 404

    @app.errorhandler(UnreadableJob)
    def unreadable_job(exc: UnreadableJob) -> tuple[Response, int]:
        log.error("%s", exc)
        return jsonify(error=str(exc)), 500  # not the caller's fault: what is stored is damaged

    @app.errorhandler(ReplayRefused)
    def replay_refused(exc: ReplayRefused) -> tuple[Response, int]:
        return jsonify(error=str(exc)), 409

    @app.errorhandler(ServiceUnavailable)
    @app.errorhandler(RedisError)
    def unavailable(exc: Exception) -> tuple[Response, int]:
        log.error("queue unavailable: %s", type(exc).__name__)
        response = jsonify(error="the queue is unavailable; send again")
        response.headers["Retry-After"] = "5"
        return response, 503

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> tuple[Response, int]:
        message = "the body is larger than 64 KiB" if exc.code == 413 else exc.description
        return jsonify(error=message), exc.code or 500
