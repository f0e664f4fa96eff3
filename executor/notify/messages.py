"""The words of each notification: what happened, where, the venue's own code and message, what to do."""
from __future__ import annotations

from collections import defaultdict
from typing import Any

from executor.domain import Alert
from executor.notify.outbox import FAILURE, SUCCESS, WARNING, Notice

#: At most this many sender addresses are named per reason in a summary of refused alerts.
ADDRESSES_SHOWN = 5


def _job_lines(job_id: str, alert: Alert, error: dict[str, Any]) -> list[str]:
    lines = [f"venue: {alert.venue}", f"account: {alert.account or 'default'}",
             f"symbol: {alert.raw_symbol or alert.symbol}" + (f" ({alert.symbol})" if alert.raw_symbol else ""),
             f"action: {alert.action or 'to ' + str(alert.market_position)}",
             f"error: {error.get('type')}: {error.get('message')}"]
    if error.get("code") is not None or error.get("venue_message"):
        lines.append(f"venue's code: {error.get('code')}, message: {error.get('venue_message') or '-'}"
                     + (f" (HTTP {error['http_status']})" if error.get("http_status") else ""))
    lines += [f"job: {job_id}", f"replay: executor jobs replay {job_id}  (or POST /jobs/{job_id}/replay)"]
    return lines


def job_failed(job_id: str, alert: Alert, error: dict[str, Any]) -> Notice:
    return Notice("job_failed", f"Job failed: {alert.describe()}", "\n".join(_job_lines(job_id, alert, error)))


def needs_attention(job_id: str, alert: Alert, error: dict[str, Any]) -> Notice:
    lines = ["A request that acts was sent and the venue's state cannot tell whether it happened. Check the "
             "position on the venue before replaying: a replay reads the venue first, but a person must decide "
             "what the account should hold.", *_job_lines(job_id, alert, error)]
    return Notice("needs_attention", f"Needs a person: {alert.describe()}", "\n".join(lines))


def stale_job(job_id: str, alert: Alert, error: dict[str, Any]) -> Notice:
    return Notice("stale", f"Stale signal refused: {alert.describe()}", "\n".join(_job_lines(job_id, alert, error)),
                  WARNING)


def refused_summary(event: str, refusals: list[tuple[int, str, str, int]], since: str) -> Notice:
    """``refusals``: (status, reason, sender address, count) each. One line per status and reason."""
    grouped: dict[tuple[int, str], dict[str, int]] = defaultdict(dict)
    for status, reason, address, count in refusals:
        grouped[(status, reason)][address] = grouped[(status, reason)].get(address, 0) + count
    total = sum(count for *_, count in refusals)
    lines = []
    for (status, reason), senders in sorted(grouped.items(), key=lambda item: -sum(item[1].values())):
        ranked = sorted(senders.items(), key=lambda item: -item[1])
        named = ", ".join(f"{address} ({count})" for address, count in ranked[:ADDRESSES_SHOWN])
        more = f" and {len(ranked) - ADDRESSES_SHOWN} more" if len(ranked) > ADDRESSES_SHOWN else ""
        lines.append(f"{sum(senders.values())} × {status} {reason}; from {named}{more}")
    what = "stale alerts refused" if event == "stale" else "alerts refused"
    return Notice(event, f"{total} {what} since {since}", "\n".join(lines), WARNING)


def no_worker(waiting: int, oldest_seconds: float) -> Notice:
    return Notice("no_worker", f"{waiting} job(s) waiting and no live worker",
                  f"The oldest has waited {oldest_seconds:.0f} s. Start a worker (Procfile: worker: python -m "
                  f"executor worker); jobs that wait past MAX_EXECUTION_DELAY fail as stale.", FAILURE)


def workers_back(workers: int) -> Notice:
    return Notice("no_worker", "Workers are back", f"{workers} live worker(s); the waiting jobs are being run.",
                  SUCCESS)
