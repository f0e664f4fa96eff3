"""What the console's routes share in one web process, built once with the app (``app.extensions``)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from flask import current_app
from redis import Redis

from config.settings import Settings
from executor.console.lockout import ADMIN_TOKEN, WEBHOOK_SECRET, Lockout
from executor.console.redaction import Redactor
from executor.console.sessions import Sessions
from executor.console.signallog import SignalLog

if TYPE_CHECKING:
    from executor.app import Services


@dataclass(frozen=True)
class Console:
    signal_log: SignalLog
    redactor: Redactor
    sessions: Sessions
    webhook_lockout: Lockout
    admin_lockout: Lockout


def build_console(settings: Settings, redis: Redis) -> Console:
    secrets = [secret.reveal() for secret in (settings.webhook_secret, settings.admin_token) if secret is not None]
    return Console(
        signal_log=SignalLog(redis, settings.queue_name, settings.signal_log_max, settings.signal_log_days),
        redactor=Redactor(secrets),
        sessions=Sessions(redis, settings.queue_name, settings.admin_token),
        webhook_lockout=Lockout(redis, settings.queue_name, WEBHOOK_SECRET),
        admin_lockout=Lockout(redis, settings.queue_name, ADMIN_TOKEN),
    )


def console() -> Console:
    return current_app.extensions["console"]


def services() -> Services:
    """The app's shared services (``executor.app.Services``)."""
    return current_app.extensions["executor"]
