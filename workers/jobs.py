"""Job functions RQ imports by name. Thin: they read the job and call into ``executor``."""
from __future__ import annotations

from typing import Any

from rq import Retry, get_current_job

from workers.runtime import current_runtime


def execute_alert(payload: dict[str, Any]) -> dict[str, Any] | Retry:
    """Perform one alert's action on its venue; the return value is the job's result (or its reschedule)."""
    return current_runtime().runner.run(get_current_job(), payload)
