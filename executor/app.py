"""The web application factory."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Callable

from flask import Flask
from redis import Redis
from rq import Queue
from werkzeug.middleware.proxy_fix import ProxyFix

from config.settings import Settings, load_settings
from executor.intake import utc_now
from executor.alertqueue import make_queue
from executor.console.context import build_console
from executor.health import WaitingWatch
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


def create_app(settings: Settings | None = None, *, clock: Callable[[], datetime] = utc_now) -> Flask:
    settings = settings or load_settings(require_webhook_secret=True)
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES
    app.json.sort_keys = False
    redis = connect(settings.redis_url, retries=WEB_RETRIES, connect_timeout=WEB_CONNECT_TIMEOUT)
    queue = make_queue(redis, settings)
    app.extensions["executor"] = Services(settings, redis, queue, clock, WaitingWatch(queue))
    app.extensions["console"] = build_console(settings, redis)
    if settings.trusted_proxies:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=settings.trusted_proxies, x_proto=settings.trusted_proxies)
    from executor.console.routes import register_console
    from executor.web import blueprint, register_error_handlers

    app.register_blueprint(blueprint)
    register_console(app)
    register_error_handlers(app)
    app.before_request(_watch_in_this_process)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    warn_about_settings(redis, "web")
    return app


def _watch_in_this_process() -> None:
    """Start the waiting watch in the process that serves (gunicorn forks its workers after building the app)."""
    from flask import current_app

    if not current_app.testing:
        current_app.extensions["executor"].watch.start()
