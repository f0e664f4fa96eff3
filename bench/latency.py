"""Signal latency: from a webhook request arriving at the web process to the venue request arriving at the venue.

One worker, idle before every alert: an alert is sent, its job is waited for
(bounded), and the next alert goes out on the next pacing slot (default every
0.25 s, i.e. 4/s, under CoinW's 5/s reverse limit so the shared limiter never
has to wait). Each alert reverses the same CoinW BTC position on the simulator.

Arrival at the web is stamped by ``bench/wsgi_timed.py`` (a middleware around
the product's ``wsgi:app``); arrival at the venue is the simulator's request log
``received_at``. Both are ``time.time()`` on this machine. Reported per worker
mode (``WORKER_MODE=simple`` and ``fork``): arrival -> position read (first venue
request) and arrival -> reverse (the trading request), plus where the time goes
(job timestamps) and the same intervals measured from the job's ``received_at``.

    python -m bench.latency [--alerts 1000] [--fork-alerts 300] [--interval 0.25]
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from bisect import bisect_left
from typing import Any

import requests

from bench.common import (ARRIVAL_HEADER, COINW_POSITIONS, COINW_REVERSE, Simulator, Stack, alert_body, exit_on_sigterm, fmt_ms,
                          iso_to_epoch, summarize, write_result)
from executor.jobview import fetch_job, status_word

SYMBOL = "BTCUSDT.P"  # CoinW instrument BTC
INSTRUMENT = "BTC"
#: Longest wait for one job to finish before the benchmark gives up on it.
JOB_TIMEOUT_S = 10.0
#: How often the job's status is read while waiting.
POLL_S = 0.005
#: A read -> reverse gap above this is counted: a rate-limiter wait (pacing too fast) or a stall.
SLOW_GAP_S = 0.05
GOAL_MS = {"p50": 5.0, "p99": 25.0}


def run_mode(stack: Stack, sim: Simulator, mode: str, alerts: int, warmup: int, interval: float,
             deadline: float) -> dict[str, Any]:
    """Send ``warmup + alerts`` alerts one at a time to one idle ``mode`` worker; return the measurements."""
    sim.reset()
    sim.open_position(INSTRUMENT)
    stack.start_workers(1, mode)
    redis = stack.redis_client()
    http = requests.Session()
    sent: list[dict[str, Any]] = []
    load_trace: list[dict[str, Any]] = []
    truncated = False
    try:
        last_send = time.monotonic() + 0.5 - interval
        for i in range(warmup + alerts):
            # At least ``interval`` after the previous alert, and no catching up after a slow job:
            # the alerts never come faster than 1/interval, so the limiter has no reason to wait.
            time.sleep(max(0.0, last_send + interval - time.monotonic()))
            last_send = time.monotonic()
            if last_send > deadline:
                truncated = True
                break
            sent.append(_send_one(http, stack, redis, f"lat-{mode}-{i}-{int(time.time())}"))
            if (i + 1) % 100 == 0:
                load_trace.append({"alerts": i + 1, "at": time.time(), "load_1min": round(os.getloadavg()[0], 2)})
                print(f"  {mode}: {i + 1}/{warmup + alerts} alerts, load average {load_trace[-1]['load_1min']}",
                      flush=True)
    finally:
        stack.stop_services("worker")
    venue = sim.requests()
    rows = _pair(sent, venue)
    _add_job_times(redis, rows)
    report = _report(mode, rows, warmup, interval, truncated)
    report["load_trace"] = load_trace
    return report


def _send_one(http: requests.Session, stack: Stack, redis: Any, alert_id: str) -> dict[str, Any]:
    client_sent = time.time()
    answer = http.post(f"{stack.web_url}/webhook", data=alert_body(SYMBOL, alert_id=alert_id),
                       headers={"Content-Type": "text/plain"}, timeout=10)
    client_answered = time.time()
    if answer.status_code != 202:
        raise RuntimeError(f"webhook answered {answer.status_code}: {answer.text[:200]}")
    job_id = answer.json()["job_id"]
    job = fetch_job(redis, job_id)
    status = "missing"
    waited_until = time.monotonic() + JOB_TIMEOUT_S
    while job is not None and time.monotonic() < waited_until:
        status = job.get_status(refresh=True)
        status = getattr(status, "value", status)
        if status in ("finished", "failed"):
            break
        time.sleep(POLL_S)
    return {"job_id": job_id, "client_sent": client_sent, "client_answered": client_answered,
            "arrival": float(answer.headers[ARRIVAL_HEADER]), "status": status}


def _pair(sent: list[dict[str, Any]], venue: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Give each alert the venue requests that arrived between its sending and the next alert's."""
    venue = sorted(venue, key=lambda r: r["received_at"])
    times = [r["received_at"] for r in venue]
    rows = []
    for i, row in enumerate(sent):
        end = sent[i + 1]["client_sent"] if i + 1 < len(sent) else float("inf")
        mine = venue[bisect_left(times, row["client_sent"]):bisect_left(times, end)]
        reads = [r for r in mine if r["method"] == "GET" and r["path"] == COINW_POSITIONS]
        reverses = [r for r in mine if r["method"] == "POST" and r["path"] == COINW_REVERSE]
        problems = []
        if row["status"] != "finished":
            problems.append(f"job {row['status']}")
        if len(reads) != 1 or len(reverses) != 1 or len(mine) != 2:
            problems.append(f"{len(reads)} reads, {len(reverses)} reverses, {len(mine)} requests")
        if any(r["status"] != 200 or str(r["code"]) != "0" or r["rate_limited"] for r in mine):
            problems.append("a venue request was refused")
        rows.append({**row, "read_at": reads[0]["received_at"] if reads else None,
                     "read_answered_at": reads[0].get("answered_at") if reads else None,
                     "reverse_at": reverses[0]["received_at"] if reverses else None, "problems": problems})
    return rows


def _add_job_times(redis: Any, rows: list[dict[str, Any]]) -> None:
    for row in rows:
        job = fetch_job(redis, row["job_id"])
        if job is None:
            row["problems"].append("job gone")
            continue
        payload = job.args[0] if job.args else {}
        row.update(received_at=iso_to_epoch(payload.get("received_at")),
                   enqueued_at=job.enqueued_at.timestamp() if job.enqueued_at else None,
                   started_at=job.started_at.timestamp() if job.started_at else None,
                   ended_at=job.ended_at.timestamp() if job.ended_at else None,
                   final_status=status_word(job))


def _ms(rows: list[dict[str, Any]], start: str, end: str) -> list[float]:
    return [(r[end] - r[start]) * 1000 for r in rows if r.get(start) is not None and r.get(end) is not None]


def _less_venue_answer(rows: list[dict[str, Any]]) -> list[float]:
    """Arrival to the reversal without the simulator's own time to answer the read: the product's share."""
    return [((r["reverse_at"] - r["arrival"]) - (r["read_answered_at"] - r["read_at"])) * 1000
            for r in rows if r.get("read_answered_at") is not None]


def _report(mode: str, rows: list[dict[str, Any]], warmup: int, interval: float, truncated: bool) -> dict[str, Any]:
    measured = rows[warmup:]
    good = [r for r in measured if not r["problems"]]
    slow_gaps = sum(1 for r in good if r["reverse_at"] - r["read_at"] > SLOW_GAP_S)
    to_reverse = _ms(good, "arrival", "reverse_at")
    intervals = {
        "arrival_to_read": summarize(_ms(good, "arrival", "read_at")),
        "arrival_to_reverse": summarize(_ms(good, "arrival", "reverse_at")),
        "received_at_to_read": summarize(_ms(good, "received_at", "read_at")),
        "received_at_to_reverse": summarize(_ms(good, "received_at", "reverse_at")),
        "client_send_to_reverse": summarize(_ms(good, "client_sent", "reverse_at")),
        "arrival_to_reverse_less_venue_answer": summarize(_less_venue_answer(good)),
    }
    breakdown = {
        "arrival_to_received_at": summarize(_ms(good, "arrival", "received_at")),
        "received_at_to_enqueued_at": summarize(_ms(good, "received_at", "enqueued_at")),
        "enqueued_at_to_started_at": summarize(_ms(good, "enqueued_at", "started_at")),
        "started_at_to_read": summarize(_ms(good, "started_at", "read_at")),
        "read_to_reverse": summarize(_ms(good, "read_at", "reverse_at")),
        "read_at_venue_answered": summarize(_ms(good, "read_at", "read_answered_at")),
        "read_answered_to_reverse": summarize(_ms(good, "read_answered_at", "reverse_at")),
        "reverse_to_ended_at": summarize(_ms(good, "reverse_at", "ended_at")),
        "webhook_round_trip_client": summarize(_ms(good, "client_sent", "client_answered")),
    }
    main = intervals["arrival_to_reverse"]
    return {
        "mode": mode, "alerts_sent": len(rows), "warmup_discarded": min(warmup, len(rows)),
        "measured": len(measured), "valid": len(good), "invalid": len(measured) - len(good),
        "invalid_examples": [{"job_id": r["job_id"], "problems": r["problems"]}
                             for r in measured if r["problems"]][:10],
        "pacing_interval_s": interval, "read_to_reverse_over_50ms": slow_gaps,
        "truncated_by_time_budget": truncated,
        "arrival_to_reverse_share_within_ms": {str(limit): round(sum(v <= limit for v in to_reverse) / len(to_reverse), 3)
                                               if to_reverse else None for limit in (5, 10, 25, 50)},
        "warmup": {"arrival_to_reverse_ms": _ms(rows[:warmup], "arrival", "reverse_at")},
        "intervals_ms": intervals, "breakdown_ms": breakdown,
        # Per 100 measured alerts, in order: a disturbed stretch (other work on the machine) stands out.
        "arrival_to_reverse_by_100": [{k: v for k, v in summarize(_ms(good[i:i + 100], "arrival", "reverse_at")).items()
                                       if k in ("n", "p50", "p99", "max")} for i in range(0, len(good), 100)],
        "goal_ms": GOAL_MS,
        "goal_met": bool(main.get("n")) and main["p50"] <= GOAL_MS["p50"] and main["p99"] <= GOAL_MS["p99"],
        "samples": [{k: r.get(k) for k in ("job_id", "client_sent", "arrival", "received_at", "enqueued_at",
                                           "started_at", "read_at", "read_answered_at", "reverse_at", "ended_at")}
                    for r in good],
    }


def print_summary(results: dict[str, Any]) -> None:
    print("\n### Signal latency (ms, one idle worker)\n")
    print("| mode | interval | n | p50 | p90 | p99 | max | invalid |")
    print("|---|---|---|---|---|---|---|---|")
    for mode, result in results["modes"].items():
        for name in ("arrival_to_read", "arrival_to_reverse", "received_at_to_reverse",
                     "arrival_to_reverse_less_venue_answer"):
            s = result["intervals_ms"][name]
            print(f"| {mode} | {name} | {s.get('n', 0)} | {fmt_ms(s.get('p50'))} | {fmt_ms(s.get('p90'))} | "
                  f"{fmt_ms(s.get('p99'))} | {fmt_ms(s.get('max'))} | {result['invalid']} |")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--alerts", type=int, default=1000, help="measured alerts, simple mode (default 1000)")
    parser.add_argument("--fork-alerts", type=int, default=300, help="measured alerts, fork mode (default 300)")
    parser.add_argument("--warmup", type=int, default=5, help="alerts sent first and not counted, per mode")
    parser.add_argument("--interval", type=float, default=0.25, help="seconds between alerts (default 0.25: 4/s)")
    parser.add_argument("--modes", default="simple,fork")
    parser.add_argument("--max-seconds", type=float, default=420.0, help="time budget for the whole benchmark")
    args = parser.parse_args(argv)
    exit_on_sigterm()
    deadline = time.monotonic() + args.max_seconds
    counts = {"simple": args.alerts, "fork": args.fork_alerts}
    results: dict[str, Any] = {"modes": {}}
    with Stack("latency") as stack:
        stack.start_redis()
        stack.start_simulator()
        stack.start_web("bench.wsgi_timed:app")
        sim = Simulator(stack.sim_url)
        for mode in [m.strip() for m in args.modes.split(",") if m.strip()]:
            print(f"latency: {mode} worker, {counts[mode]} alerts (+{args.warmup} warm-up) every {args.interval} s",
                  flush=True)
            results["modes"][mode] = run_mode(stack, sim, mode, counts[mode], args.warmup, args.interval, deadline)
    results["settings"] = {"interval_s": args.interval, "warmup": args.warmup, "symbol": SYMBOL,
                           "web": "gunicorn -c config/gunicorn.py bench.wsgi_timed:app (WEB_CONCURRENCY default)",
                           "arrival_stamp": "time.time() in a WSGI middleware around wsgi:app"}
    path = write_result("latency", results)
    print_summary(results)
    print(f"\nwritten {path}")
    # Anomalies (refused requests, failed jobs) are results, reported in the JSON; only no data is a failure.
    return 0 if all(r["valid"] > 0 for r in results["modes"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
