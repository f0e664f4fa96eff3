"""Intake: requests per second and latency of ``POST /webhook`` beside a route that does nothing, same server.

gunicorn runs ``bench.wsgi_bare:app`` (the product's ``wsgi:app`` plus
``POST /bench/bare`` answering 204) with the Procfile's config file
(``-c config/gunicorn.py``: WEB_CONCURRENCY processes x WEB_THREADS threads,
gthread), bound to 127.0.0.1. The same load generator hits each route for a
fixed time with a fixed number of keep-alive connections (processes x threads,
each thread one connection, one request at a time) and records every latency.
Every alert has its own ``id``, so each answer is a real 202 enqueue on the
private Redis (no worker runs; the jobs pile up). The bare route gets the same
bodies.

    python -m bench.intake [--seconds 10] [--processes 2] [--threads 4]
"""
from __future__ import annotations

import argparse
import http.client
import multiprocessing
import resource
import sys
import time
from collections import Counter
from typing import Any

from bench.common import Stack, alert_body, exit_on_sigterm, fmt_ms, summarize, write_result

ROUTES = {"bare": ("/bench/bare", 204), "webhook": ("/webhook", 202)}
SYMBOL = "BTCUSDT.P"


def _thread_loop(port: int, path: str, tag: str, start_at: float, stop_at: float, out: list[Any]) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    headers = {"Content-Type": "text/plain", "Connection": "keep-alive"}
    n = 0
    while time.time() < start_at:
        time.sleep(0.001)
    while True:
        begin = time.perf_counter()
        if time.time() >= stop_at:
            break
        body = alert_body(SYMBOL, alert_id=f"{tag}-{n}")
        n += 1
        try:
            conn.request("POST", path, body=body, headers=headers)
            answer = conn.getresponse()
            answer.read()
            status = answer.status
        except (OSError, http.client.HTTPException) as exc:
            status = type(exc).__name__
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        out.append((begin, time.perf_counter() - begin, status))
    conn.close()


def _process_main(port: int, path: str, tag: str, threads: int, start_at: float, stop_at: float,
                  results: Any) -> None:
    import threading

    outs: list[list[Any]] = [[] for _ in range(threads)]
    workers = [threading.Thread(target=_thread_loop, args=(port, path, f"{tag}-t{i}", start_at, stop_at, outs[i]))
               for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=(stop_at - time.time()) + 30)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    results.put({"records": [r for out in outs for r in out], "cpu_s": usage.ru_utime + usage.ru_stime})


def load(port: int, path: str, tag: str, seconds: float, processes: int, threads: int) -> dict[str, Any]:
    """Hit ``path`` for ``seconds`` with processes x threads keep-alive connections; every request recorded."""
    ctx = multiprocessing.get_context("fork")
    results = ctx.Queue()
    start_at = time.time() + 0.5
    stop_at = start_at + seconds
    procs = [ctx.Process(target=_process_main, args=(port, path, f"{tag}-p{i}", threads, start_at, stop_at, results),
                         daemon=True) for i in range(processes)]
    for proc in procs:
        proc.start()
    try:
        parts = [results.get(timeout=seconds + 60) for _ in procs]
    finally:
        for proc in procs:
            proc.join(timeout=5)
            if proc.is_alive():
                proc.terminate()
                proc.join(timeout=5)
    records = [r for part in parts for r in part["records"]]
    return {"records": records, "cpu_s": [round(p["cpu_s"], 2) for p in parts], "duration_s": seconds}


def measure(port: int, route: str, seconds: float, warmup: float, processes: int, threads: int) -> dict[str, Any]:
    path, expected = ROUTES[route]
    run_tag = f"in{int(time.time())}-{route}"
    if warmup > 0:
        load(port, path, f"{run_tag}-w", warmup, processes, threads)
    raw = load(port, path, run_tag, seconds, processes, threads)
    records = raw["records"]
    statuses = Counter(str(status) for _, _, status in records)
    good = [latency * 1000 for _, latency, status in records if status == expected]
    return {
        "route": path, "expected_status": expected, "duration_s": seconds,
        "connections": processes * threads, "processes": processes, "threads_per_process": threads,
        "requests": len(records), "ok": len(good), "statuses": dict(statuses),
        "req_per_s": round(len(good) / seconds, 1),
        "latency_ms": summarize(good),
        "loadgen_cpu_s_per_process": raw["cpu_s"],
    }


def print_summary(results: dict[str, Any]) -> None:
    print("\n### Intake (gunicorn -c config/gunicorn.py, "
          f"{results['routes']['webhook']['connections']} keep-alive connections, "
          f"{results['routes']['webhook']['duration_s']:.0f} s each)\n")
    print("| route | req/s | p50 ms | p90 ms | p99 ms | max ms | non-OK |")
    print("|---|---|---|---|---|---|---|")
    for route in ("bare", "webhook"):
        r = results["routes"][route]
        s = r["latency_ms"]
        print(f"| {r['route']} | {r['req_per_s']:.0f} | {fmt_ms(s.get('p50'))} | {fmt_ms(s.get('p90'))} | "
              f"{fmt_ms(s.get('p99'))} | {fmt_ms(s.get('max'))} | {r['requests'] - r['ok']} |")
    ratio = results["ratio"]
    print(f"\nwebhook / bare throughput: {ratio['throughput']:.2f}; "
          f"p50 latency webhook / bare: {ratio['p50_latency']:.2f}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=10.0, help="measured seconds per route (default 10)")
    parser.add_argument("--warmup", type=float, default=1.0, help="unrecorded seconds per route first (default 1)")
    parser.add_argument("--processes", type=int, default=2, help="load generator processes (default 2)")
    parser.add_argument("--threads", type=int, default=4, help="connections per process (default 4)")
    args = parser.parse_args(argv)
    exit_on_sigterm()
    results: dict[str, Any] = {"routes": {}}
    with Stack("intake") as stack:
        stack.start_redis()
        stack.start_web("bench.wsgi_bare:app")
        env = stack.env()
        results["server"] = {"WEB_CONCURRENCY": env.get("WEB_CONCURRENCY", "2 (default)"),
                             "WEB_THREADS": env.get("WEB_THREADS", "4 (default)"),
                             "command": "gunicorn -c config/gunicorn.py -b 127.0.0.1:PORT bench.wsgi_bare:app"}
        for route in ("bare", "webhook"):
            print(f"intake: {ROUTES[route][0]} for {args.seconds:.0f} s with {args.processes * args.threads} "
                  "connections", flush=True)
            results["routes"][route] = measure(stack.web_port, route, args.seconds, args.warmup,
                                               args.processes, args.threads)
        queued = stack.redis_client().dbsize()
        results["redis_keys_after"] = queued
    bare, webhook = results["routes"]["bare"], results["routes"]["webhook"]
    results["ratio"] = {
        "throughput": round(webhook["req_per_s"] / bare["req_per_s"], 3) if bare["req_per_s"] else None,
        "p50_latency": round(webhook["latency_ms"]["p50"] / bare["latency_ms"]["p50"], 3)
        if bare["latency_ms"].get("p50") else None,
    }
    path = write_result("intake", results)
    print_summary(results)
    print(f"\nwritten {path}")
    ok = all(r["ok"] > 0 and r["ok"] == r["requests"] for r in results["routes"].values())
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
