"""Where one job's milliseconds go: every Redis command and venue request of one alert, on one time line.

Not part of ``bench/run``. Starts the same private services as the latency
benchmark, sends a few paced alerts to one idle worker while Redis ``MONITOR``
records every command, and prints the last alert's time line in ms from its
arrival at the web process (web and worker are told apart by their Redis
connection; commands run inside Lua scripts are left out).

    python -m bench.profile_job [--mode simple|fork] [--alerts 6]
"""
from __future__ import annotations

import argparse
import sys
import threading
import time
from typing import Any

import requests
from redis import Redis

from bench.common import ARRIVAL_HEADER, Simulator, Stack, alert_body, exit_on_sigterm


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mode", default="simple", choices=("simple", "fork"))
    parser.add_argument("--alerts", type=int, default=6, help="paced alerts; the last one is shown (default 6)")
    args = parser.parse_args(argv)
    exit_on_sigterm()
    with Stack("profile") as stack:
        stack.start_redis()
        stack.start_simulator()
        stack.start_web("bench.wsgi_timed:app")
        sim = Simulator(stack.sim_url)
        sim.reset()
        sim.open_position("BTC")
        stack.start_workers(1, args.mode)
        events, stop = _monitor(Redis.from_url(stack.redis.url))  # type: ignore[union-attr]
        http = requests.Session()
        arrival = 0.0
        for i in range(max(1, args.alerts)):
            time.sleep(0.3)
            answer = http.post(f"{stack.web_url}/webhook", data=alert_body("BTCUSDT.P", alert_id=f"prof-{time.time()}"),
                               headers={"Content-Type": "text/plain"}, timeout=10)
            arrival = float(answer.headers[ARRIVAL_HEADER])
        time.sleep(0.5)
        stop.set()
        venue = sim.requests()
    lines = [(e["time"], f"redis {e['client_port']}", " ".join(str(e["command"]).split())[:110])
             for e in list(events) if arrival - 0.001 <= e["time"] < arrival + 0.25 and e.get("client_type") != "lua"]
    lines += [(v["received_at"], "VENUE", f"{v['method']} {v['path']}") for v in venue if v["received_at"] >= arrival]
    print(f"one {args.mode}-mode job, ms from arrival at the web process:")
    for moment, who, what in sorted(lines):
        print(f"{(moment - arrival) * 1000:8.2f}  {who:<12} {what}")
    return 0


def _monitor(redis: Redis) -> tuple[list[dict[str, Any]], threading.Event]:
    events: list[dict[str, Any]] = []
    stop = threading.Event()
    ready = threading.Event()

    def run() -> None:
        with redis.monitor() as monitor:
            ready.set()
            deadline = time.monotonic() + 60  # bounded even if the benchmark stalls
            for event in monitor.listen():
                events.append(event)
                if stop.is_set() or time.monotonic() > deadline or len(events) > 200_000:
                    break

    threading.Thread(target=run, daemon=True, name="redis-monitor").start()
    ready.wait(5)
    time.sleep(0.2)
    return events, stop


if __name__ == "__main__":
    sys.exit(main())
