"""The whole product on one machine: a private Redis, the venue simulator, a worker and the web process."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import requests

from executor.localredis import LocalRedis, start_local_redis

DEMO_SECRET = "demo-webhook-secret"
DEMO_ADMIN_TOKEN = "demo-admin-token"


def demo_environment(redis_url: str, port: int, simulator_port: int) -> dict[str, str]:
    from executor.simulator import (DEMO_BITGET_API_KEY, DEMO_BITGET_PASSPHRASE, DEMO_BITGET_SECRET_KEY,
                                    DEMO_COINW_API_KEY, DEMO_COINW_SECRET_KEY, DEMO_CROSSTRADE_ACCOUNT,
                                    DEMO_CROSSTRADE_TOKEN)

    simulator = f"http://127.0.0.1:{simulator_port}"
    return {
        **os.environ,
        "PORT": str(port),
        "REDIS_URL": redis_url,
        "WEBHOOK_SECRET": DEMO_SECRET,
        "ADMIN_TOKEN": DEMO_ADMIN_TOKEN,
        "COINW_BASE_URL": simulator,
        "COINW_API_KEY": DEMO_COINW_API_KEY,
        "COINW_SECRET_KEY": DEMO_COINW_SECRET_KEY,
        "BITGET_BASE_URL": simulator,
        "BITGET_API_KEY": DEMO_BITGET_API_KEY,
        "BITGET_SECRET_KEY": DEMO_BITGET_SECRET_KEY,
        "BITGET_PASSPHRASE": DEMO_BITGET_PASSPHRASE,
        "CROSSTRADE_BASE_URL": simulator,
        "CROSSTRADE_TOKEN": DEMO_CROSSTRADE_TOKEN,
        "CROSSTRADE_ACCOUNT": DEMO_CROSSTRADE_ACCOUNT,
    }


def run_demo(port: int, simulator_port: int) -> int:
    """Run until Ctrl-C or SIGTERM; either stops every process the demo started, Redis included."""
    signal.signal(signal.SIGTERM, _interrupt)
    redis = _demo_redis()
    env = demo_environment(redis.url if redis else os.environ["REDIS_URL"], port, simulator_port)
    executor = [sys.executable, "-m", "executor"]
    processes: list[subprocess.Popen] = []
    try:
        processes += [
            subprocess.Popen([*executor, "simulate", "--port", str(simulator_port)], env=env),
            subprocess.Popen([*executor, "worker", "--name", f"demo-worker-{os.getpid()}"], env=env),
            subprocess.Popen([*executor, "web"], env=env),
        ]
        _wait_until_up(f"http://127.0.0.1:{port}/healthz", f"http://127.0.0.1:{simulator_port}/_sim/health")
        print(_instructions(port, simulator_port, redis.url if redis else None), flush=True)
        while all(process.poll() is None for process in processes):
            time.sleep(0.5)
        print("a demo process stopped; shutting the demo down", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)  # a second SIGTERM ends the demo at once
        _stop(processes)
        if redis is not None:
            redis.stop()


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt  # SIGTERM stops the demo as Ctrl-C does, through run_demo's clean-up


def _demo_redis() -> LocalRedis | None:
    """A private redis-server, unless REDIS_URL names one to use."""
    if os.environ.get("REDIS_URL"):
        return None
    return start_local_redis()


def _wait_until_up(*urls: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    for url in urls:
        while True:
            try:
                if requests.get(url, timeout=1).status_code == 200:
                    break
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{url} did not come up within {timeout:.0f} s")
            time.sleep(0.2)


def _stop(processes: list[subprocess.Popen]) -> None:
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    for process in processes:
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


def _instructions(port: int, simulator_port: int, private_redis_url: str | None) -> str:
    """What to try. The Redis URL is shown only for the demo's own Redis: one given in REDIS_URL may hold a
    password."""
    web = f"http://127.0.0.1:{port}"
    sim = f"http://127.0.0.1:{simulator_port}"
    redis_url = private_redis_url or "$REDIS_URL"
    return f"""
Demo running: web {web}, venue simulator {sim}.
Open on the simulator: CoinW BTC long 10, Bitget BTCUSDT long 0.01, CrossTrade ES long 2 in Sim101.
Reverse the CoinW position:
  curl -s -X POST {web}/webhook -H 'Content-Type: text/plain' \\
    -d '{{"secret": "{DEMO_SECRET}", "venue": "coinw", "action": "reverse", "symbol": "BTCUSDT.P"}}'
Reverse the Bitget one, close 1 ES contract on NinjaTrader through CrossTrade:
  curl -s -X POST {web}/webhook -d '{{"secret": "{DEMO_SECRET}", "venue": "bitget", "action": "reverse", "symbol": "BITGET:BTCUSDT.P"}}'
  curl -s -X POST {web}/webhook -d '{{"secret": "{DEMO_SECRET}", "venue": "crosstrade", "action": "close", "symbol": "ES1!", "qty": 1}}'
See the job (use the job_id from the answer):
  curl -s -H 'Authorization: Bearer {DEMO_ADMIN_TOKEN}' {web}/jobs/JOB_ID
See the positions on the venues:
  curl -s '{sim}/_sim/positions?venue=coinw'   (or venue=bitget, venue=crosstrade)
List the jobs from the command line:
  REDIS_URL={redis_url} executor jobs list --all
Ctrl-C (or SIGTERM) stops everything the demo started.
"""
