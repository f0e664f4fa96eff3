"""The console's job list: how long ``GET /jobs`` takes with many jobs kept.

Starts a private Redis, the simulator and gunicorn (``wsgi:app``, the Procfile's config file), sends
``--jobs`` alerts (each its own ``id``, spread over 200 symbols; no worker runs, so they stay in Redis, as
kept jobs do for ``JOB_RETENTION_DAYS``), then times ``GET /jobs?limit=50`` (the page the dashboard asks
for every 2 s) and the same page filtered on one symbol, ``--requests`` times each, one at a time.

    python -m bench.console [--jobs 2000] [--requests 30]
"""
from __future__ import annotations

import argparse
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import requests

from bench.common import Stack, admin_headers, alert_body, exit_on_sigterm, fmt_ms, summarize, write_result

SYMBOLS = 200
QUERIES = {"page": {"limit": 50}, "one symbol": {"limit": 50, "symbol": "S7"}}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=int, default=2000)
    parser.add_argument("--requests", type=int, default=30)
    args = parser.parse_args(argv)
    exit_on_sigterm()
    with Stack("console") as stack:
        stack.start_redis()
        stack.start_simulator()
        stack.start_web()
        print(f"console: sending {args.jobs} alerts", flush=True)
        _send_alerts(stack.web_url, args.jobs)
        results = {name: _time_query(stack.web_url, query, args.requests) for name, query in QUERIES.items()}
    print(f"\n### Console job list ({args.jobs} jobs kept, {args.requests} requests each)\n")
    print("| query | p50 ms | p90 ms | p99 ms | max ms |\n|---|---|---|---|---|")
    for name, figures in results.items():
        print(f"| `GET /jobs?{_query_text(QUERIES[name])}` | " + " | ".join(
            fmt_ms(figures[key]) for key in ("p50", "p90", "p99", "max")) + " |")
    path = write_result("console", {"benchmark": "console", "jobs": args.jobs, "requests": args.requests,
                                    "queries": {name: {"query": QUERIES[name], "ms": figures}
                                                for name, figures in results.items()}})
    print(f"\nwritten {path}")
    return 0


def _send_alerts(web_url: str, count: int) -> None:
    def send(n: int) -> None:
        answer = requests.post(f"{web_url}/webhook", data=alert_body(f"S{n % SYMBOLS}", alert_id=f"console-{n}"),
                               headers={"Content-Type": "text/plain"}, timeout=10)
        if answer.status_code != 202:
            raise RuntimeError(f"alert {n} answered {answer.status_code}: {answer.text[:200]}")

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(send, range(count)))


def _time_query(web_url: str, query: dict, count: int) -> dict:
    session = requests.Session()
    times = []
    for _ in range(count):
        begin = time.perf_counter()
        answer = session.get(f"{web_url}/jobs", params=query, headers=admin_headers(), timeout=30)
        times.append((time.perf_counter() - begin) * 1000)
        if answer.status_code != 200:
            raise RuntimeError(f"GET /jobs answered {answer.status_code}: {answer.text[:200]}")
    return summarize(times)


def _query_text(query: dict) -> str:
    return "&".join(f"{key}={value}" for key, value in query.items())


if __name__ == "__main__":
    sys.exit(main())
