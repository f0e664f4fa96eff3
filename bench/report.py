"""Prints the Markdown summary of the latest results in bench/results/ (written by the three benchmarks)."""
from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from bench.common import RESULTS_DIR, fmt_ms


def _load(name: str) -> dict[str, Any] | None:
    path = RESULTS_DIR / f"{name}.json"
    return json.loads(path.read_text()) if path.exists() else None


def _row(cells: list[Any]) -> str:
    return "| " + " | ".join(str(c) for c in cells) + " |"


def latency_rows(result: dict[str, Any]) -> list[str]:
    rows = []
    for mode, r in result["modes"].items():
        for name, label in (("arrival_to_read", "arrival -> position read"),
                            ("arrival_to_reverse", "arrival -> reverse"),
                            ("received_at_to_reverse", "job received_at -> reverse"),
                            ("arrival_to_reverse_less_venue_answer", "arrival -> reverse, less the venue's answer "
                                                                     "to the read")):
            s = r["intervals_ms"].get(name, {})
            note = "-"
            if name == "arrival_to_reverse":
                note = (f"goal p50 <= 5, p99 <= 25: {'met' if r['goal_met'] else 'missed'}; "
                        f"{r['invalid']} invalid of {r['measured']}")
            rows.append(_row([f"latency ({mode}, ms)", label, s.get("n", 0), fmt_ms(s.get("p50")),
                              fmt_ms(s.get("p90")), fmt_ms(s.get("p99")), fmt_ms(s.get("max")), note]))
    return rows


def intake_rows(result: dict[str, Any]) -> list[str]:
    rows = []
    for route in ("bare", "webhook"):
        r = result["routes"][route]
        s = r["latency_ms"]
        rows.append(_row([f"intake {r['route']} (ms)", f"{r['req_per_s']:.0f} req/s, {r['connections']} conns",
                          s.get("n", 0), fmt_ms(s.get("p50")), fmt_ms(s.get("p90")), fmt_ms(s.get("p99")),
                          fmt_ms(s.get("max")), f"{r['requests'] - r['ok']} non-OK"]))
    ratio = result["ratio"]
    rows.append(_row(["intake ratio", "webhook / bare", "-", f"throughput {ratio['throughput']}",
                      "-", "-", "-", f"p50 latency x{ratio['p50_latency']}"]))
    return rows


def ratelimit_rows(result: dict[str, Any]) -> list[str]:
    a = result["analysis"]
    rows = []
    for key, e in a["endpoints"].items():
        rows.append(_row([f"rate limit {key}", f"limit {e['limit_per_s']}/s, {e['requests']} requests", "-",
                          f"max in 1 s: {e['max_in_1s_window_sim_stats']} (sim) / "
                          f"{e['max_in_1s_window_recomputed']} (log)", "-", "-", "-",
                          f"{e['windows_over_limit']} windows over, {e['rate_limited_answers']} refused"]))
    r = a["reverse"]
    g = r["gap_ms"]
    rows.append(_row(["rate limit utilisation", f"{r['ok']} reverses in {r['first_to_last_s']} s "
                      f"(best {r['best_possible_span_s']} s)", g.get("n", 0),
                      f"{r['utilisation_pct']}% of 5/s", "-", "-", "-",
                      f"{r['utilisation_of_limiter_ceiling_pct']}% of limiter ceiling; total "
                      f"{a['total_time_s']['workers_spawned_to_last_job_end']} s"]))
    return rows


def main() -> int:
    print("\n## Benchmark summary\n")
    print(_row(["benchmark", "measure", "n", "p50", "p90", "p99", "max", "goal / note"]))
    print(_row(["---"] * 8))
    machine = None
    for name, rows in (("latency", latency_rows), ("intake", intake_rows), ("ratelimit", ratelimit_rows)):
        result = _load(name)
        if result is None:
            print(_row([name, "no result", "-", "-", "-", "-", "-", "-"]))
            continue
        machine = machine or result.get("machine")
        for line in rows(result):
            print(line)
    if machine:
        print(f"\nmachine: nproc={machine.get('nproc')}, load average at start "
              f"{machine.get('load_avg_1_5_15_min_at_start')}, {machine.get('platform')}, Python {machine.get('python')}, "
              f"commit {machine.get('git_commit')}; results in {RESULTS_DIR.relative_to(Path.cwd()) if RESULTS_DIR.is_relative_to(Path.cwd()) else RESULTS_DIR}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
