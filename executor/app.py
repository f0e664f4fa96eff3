"""The web application factory."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Callable

from flask import Flask
from redis import Redis
from rq import Queue
from werkzeug.middleware.proxy_fix import ProxyFix

from config.observability import secret_texts
from config.settings import Settings, load_settings
from executor import logs
from executor.background import Background
from executor.intake import utc_now
from executor.alertqueue import make_queue
from executor.console.context import build_console
from executor.health import WaitingWatch
from executor.metrics.store import MetricsBuffer
from executor.notify.outbox import Outbox
from executor.notify.refusals import Refusals
from executor.notify.stranded import StrandedNotice
from executor.redis_client import WEB_CONNECT_TIMEOUT, WEB_RETRIES, connect, warn_about_settings

MAX_BODY_BYTES = 64 * 1024


@dataclass
class Services:
    """What the routes need, built once per process and kept in ``app.extensions``."""

    settings: Settings
    redis: Redis
    queue: Queue
    clock: Callable[[], datetime]
    watch: WaitingWatch
    #: This process's counts, written to Redis every second (``executor.metrics``).
    metrics: MetricsBuffer
    #: Where notifications are posted (``executor.notify``), and refused alerts counted for their summary.
    outbox: Outbox
    refusals: Refusals
    background: Background


def create_app(settings: Settings | None = None, *, clock: Callable[[], datetime] = utc_now) -> Flask:
    settings = settings or load_settings(require_webhook_secret=True)
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES
    app.json.sort_keys = False
    logs.configure_logging("web", settings.observability.log_format)
    logs.mask_secrets(secret_texts(settings))
    redis = connect(settings.redis_url, retries=WEB_RETRIES, connect_timeout=WEB_CONNECT_TIMEOUT)
    queue = make_queue(redis, settings)
    app.extensions["executor"] = _services(settings, redis, queue, clock)
    app.extensions["console"] = build_console(settings, redis)
    if settings.trusted_proxies:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=settings.trusted_proxies, x_proto=settings.trusted_proxies)
    from executor.console.routes import register_console
    from executor.web import blueprint, register_error_handlers

    app.register_blueprint(blueprint)
    register_console(app)
    register_error_handlers(app)
    app.before_request(_background_in_this_process)
    warn_about_settings(redis, "web")
    return app


def _services(settings: Settings, redis: Redis, queue: Queue, clock: Callable[[], datetime]) -> Services:
    metrics = MetricsBuffer(redis, settings.queue_name)
    outbox = Outbox(redis, settings.queue_name, settings.observability, secret_texts(settings))
    refusals = Refusals(redis, settings.queue_name, outbox)
    stranded = StrandedNotice(redis, settings.queue_name, outbox)
    watch = WaitingWatch(queue, on_stranded=stranded.stranded, on_recovered=stranded.recovered)
    background = Background(redis, settings, metrics, extra=(refusals.summarise,))
    return Services(settings, redis, queue, clock, watch, metrics, outbox, refusals, background)


def start_background(app: Flask) -> None:
    """Start this process's threads: the waiting watch, the counts' writer, the notification sender. Called
    in each process that serves (gunicorn forks its workers after building the app: ``config/gunicorn.py``),
    and again, doing nothing, on each request."""
    services: Services = app.extensions["executor"]
    services.watch.start()
    services.background.start()


def _background_in_this_process() -> None:
    from flask import current_app

    if not current_app.testing:
        start_background(current_app)
