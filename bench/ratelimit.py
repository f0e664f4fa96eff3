"""Rate-limit utilisation: a backlog of reversals on one CoinW API key drained by four workers.

Positions are opened first on 100 instruments through the simulator's control
API, then 100 reverse alerts (one per instrument, so no lane orders them) are
posted to the web process while no worker runs. Then four workers
(``WORKER_MODE`` default, ``simple``) start together, and the benchmark waits
(bounded) until every job has finished or failed. From the simulator's request
log and ``/_sim/stats``: the busiest 1 s window per limited endpoint, windows
over the limit, rate-limited answers, the achieved reverse rate against the
5/s limit, and the total time.

    python -m bench.ratelimit [--jobs 100] [--workers 4]
"""
from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from typing import Any

import requests

from bench.common import (COINW_POSITIONS, COINW_REVERSE, Simulator, Stack, alert_body, exit_on_sigterm,
                          max_in_window, summarize, wait_until, windows_over, write_result)
from config.ratelimits import COINW_ENDPOINTS
from executor.jobview import fetch_job, status_word
from executor.ratelimit import SafetyMargin

#: Longest wait for the backlog to drain.
DRAIN_TIMEOUT_S = 120.0
#: The simulator's own limits (CoinW's documented ones), per "METHOD path".
LIMITS = {f"GET {COINW_POSITIONS}": COINW_ENDPOINTS["positions"][0],
          f"POST {COINW_REVERSE}": COINW_ENDPOINTS["reverse"][0]}


def instrument(i: int) -> str:
    return f"R{i:03d}"


def prepare_backlog(stack: Stack, sim: Simulator, jobs: int) -> list[str]:
    sim.reset()
    for i in range(jobs):
        sim.open_position(instrument(i))
    http = requests.Session()
    job_ids = []
    tag = int(time.time())
    for i in range(jobs):
        answer = http.post(f"{stack.web_url}/webhook", data=alert_body(instrument(i), alert_id=f"rl-{tag}-{i}"),
                           headers={"Content-Type": "text/plain"}, timeout=10)
        if answer.status_code != 202:
            raise RuntimeError(f"webhook answered {answer.status_code}: {answer.text[:200]}")
        job_ids.append(answer.json()["job_id"])
    return job_ids


def drain(stack: Stack, job_ids: list[str], workers: int) -> dict[str, Any]:
    redis = stack.redis_client()
    started = time.time()
    stack.start_workers(workers, "simple")
    registered = time.time()

    def settled() -> bool:
        statuses = [status_word(job) if (job := fetch_job(redis, job_id)) else "missing" for job_id in job_ids]
        return all(status in ("finished", "failed") for status in statuses)

    try:
        wait_until(settled, DRAIN_TIMEOUT_S, interval=0.2, what=f"{len(job_ids)} jobs to finish")
        timed_out = False
    except TimeoutError:
        timed_out = True
    done = time.time()
    stack.stop_services("worker")
    jobs = [fetch_job(redis, job_id) for job_id in job_ids]
    ends = [job.ended_at.timestamp() for job in jobs if job is not None and job.ended_at]
    attempts = [a for job in jobs if job is not None for a in job.meta.get("attempts", [])]
    deferrals = Counter(f"{a['deferral'].get('reason')}: {a['deferral'].get('message')}"
                        for a in attempts if a.get("deferral"))
    return {"workers_spawned_at": started, "workers_registered_s": round(registered - started, 3),
            "observed_done_at": done, "timed_out": timed_out,
            "last_job_ended_at": max(ends) if ends else None,
            "job_statuses": dict(Counter(status_word(j) if j else "missing" for j in jobs)),
            "attempt_outcomes": dict(Counter(a.get("outcome", "?") for a in attempts)),
            "deferral_reasons": dict(deferrals)}


def analyse(venue: list[dict[str, Any]], sim_stats: dict[str, Any], drained: dict[str, Any]) -> dict[str, Any]:
    margin = SafetyMargin()
    endpoints: dict[str, Any] = {}
    for key, limit in LIMITS.items():
        method, path = key.split(" ", 1)
        mine = [r for r in venue if r["method"] == method and r["path"] == path]
        counted = [r["received_at"] for r in mine if r["counted"] and not r["rate_limited"]]
        sim_window = sim_stats.get("max_in_window", {}).get(key, {})
        endpoints[key] = {
            "limit_per_s": limit.limit, "requests": len(mine),
            "rate_limited_answers": sum(1 for r in mine if r["rate_limited"]),
            "max_in_1s_window_sim_stats": sim_window.get("max"),
            "max_in_1s_window_recomputed": max_in_window(counted, limit.period),
            "windows_over_limit": windows_over(counted, limit.period, limit.limit),
            "product_window_s": round(margin.window(limit.period), 3),
            "product_ceiling_per_s": round(limit.limit / margin.window(limit.period), 3),
        }
    reverses = sorted(r["received_at"] for r in venue if r["path"] == COINW_REVERSE and r["status"] == 200
                      and str(r["code"]) == "0")
    span = reverses[-1] - reverses[0] if len(reverses) > 1 else None
    rate = (len(reverses) - 1) / span if span else None
    limit = LIMITS[f"POST {COINW_REVERSE}"].limit
    # The shortest possible first-to-last span of n requests under "limit per period" (sliding window):
    # request i and i+limit must be a period apart, so floor((n-1)/limit) periods. Utilisation compares with it.
    period = LIMITS[f"POST {COINW_REVERSE}"].period
    best_span = ((len(reverses) - 1) // limit) * period if reverses else None
    product_best_span = ((len(reverses) - 1) // limit) * margin.window(period) if reverses else None
    first_request = min((r["received_at"] for r in venue), default=None)
    end = drained["last_job_ended_at"] or drained["observed_done_at"]
    gaps = [(b - a) * 1000 for a, b in zip(reverses, reverses[1:])]
    return {
        "endpoints": endpoints,
        "violations": {"windows_over_limit": sum(e["windows_over_limit"] for e in endpoints.values()),
                       "rate_limited_answers": sim_stats.get("rate_limited", 0)},
        "reverse": {"ok": len(reverses), "first_to_last_s": round(span, 3) if span else None,
                    "rate_per_s_n_minus_1_over_span": round(rate, 3) if rate else None,
                    "best_possible_span_s": best_span,
                    "utilisation_pct": round(100 * best_span / span, 1) if span else None,
                    "effective_rate_per_s": round(limit * best_span / span, 3) if span else None,
                    "utilisation_of_limiter_ceiling_pct": round(100 * product_best_span / span, 1) if span else None,
                    "gap_ms": summarize(gaps)},
        "total_time_s": {
            "workers_spawned_to_last_job_end": round(end - drained["workers_spawned_at"], 3),
            "first_venue_request_to_last_job_end": round(end - first_request, 3) if first_request else None,
        },
        "sim_stats": {k: sim_stats.get(k) for k in ("total", "rate_limited", "per_endpoint", "max_in_window")},
    }


def print_summary(results: dict[str, Any]) -> None:
    print(f"\n### Rate-limit utilisation ({results['jobs']} reversals, {results['workers']} workers, one CoinW key)\n")
    print("| endpoint | limit/s | requests | max in 1 s (sim) | max in 1 s (log) | windows over | 429-type answers |")
    print("|---|---|---|---|---|---|---|")
    for key, e in a["endpoints"].items():
        print(f"| {key} | {e['limit_per_s']} | {e['requests']} | {e['max_in_1s_window_sim_stats']} | "
              f"{e['max_in_1s_window_recomputed']} | {e['windows_over_limit']} | {e['rate_limited_answers']} |")
    r = a["reverse"]
    t = a["total_time_s"]
    print(f"\nreverse: {r['ok']} ok, first to last {r['first_to_last_s']} s (best possible at 5/s: "
          f"{r['best_possible_span_s']} s): utilisation {r['utilisation_pct']}% = {r['effective_rate_per_s']}/s "
          f"({r['utilisation_of_limiter_ceiling_pct']}% of what the limiter's 1.05 s window allows); "
          f"total {t['workers_spawned_to_last_job_end']} s from spawning the workers "
          f"({t['first_venue_request_to_last_job_end']} s from the first venue request); "
          f"jobs {results['drain']['job_statuses']}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=int, default=100)
    parser.add_argument("--workers", type=int, default=4)
    args = parser.parse_args(argv)
    exit_on_sigterm()
    results: dict[str, Any] = {"jobs": args.jobs, "workers": args.workers, "worker_mode": "simple"}
    with Stack("ratelimit") as stack:
        stack.start_redis()
        stack.start_simulator()
        stack.start_web()
        sim = Simulator(stack.sim_url)
        print(f"ratelimit: {args.jobs} reversals queued, then {args.workers} workers", flush=True)
        job_ids = prepare_backlog(stack, sim, args.jobs)
        results["drain"] = drain(stack, job_ids, args.workers)
        results["analysis"] = analyse(sim.requests(), sim.stats(), results["drain"])
    path = write_result("ratelimit", results)
    print_summary(results)
    print(f"\nwritten {path}")
    a = results["analysis"]
    # Violations are results (in the JSON and the summary); a failure is a backlog that did not drain.
    ok = not results["drain"]["timed_out"] and results["drain"]["job_statuses"].get("finished") == args.jobs
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
