"""Job functions RQ imports by name. Thin: they read the job and call into ``executor``."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from rq import get_current_job

from executor.domain import Alert
from executor.errors import StaleAlert
from executor.history import Attempt
from workers.runtime import current_runtime


def execute_alert(payload: dict[str, Any]) -> dict[str, Any]:
    """Perform one alert's action on its venue; the return value is the job's result."""
    runtime = current_runtime()
    alert = Alert.from_job(payload["alert"])
    attempt = Attempt(get_current_job())
    try:
        _refuse_if_stale(payload, runtime.settings.max_execution_delay)
        result = runtime.adapter(alert.venue).perform(alert, attempt)
    except Exception as exc:
        attempt.failed(exc)
        raise
    attempt.succeeded(result)
    return result.to_record()


def _refuse_if_stale(payload: dict[str, Any], max_delay: int) -> None:
    received_at = datetime.fromisoformat(payload["received_at"])
    waited = datetime.now(timezone.utc) - received_at
    if waited > timedelta(seconds=max_delay):
        raise StaleAlert(f"the alert arrived {int(waited.total_seconds())} s ago, "
                         f"more than MAX_EXECUTION_DELAY ({max_delay} s); not trading on an old signal")
