"""The whole product on one machine: its own Redis, the venue simulator, a worker and the web process.

Everything listens on loopback only: the demo's webhook secret and admin token are published in the README.
The demo's jobs go to their own queue (``demo``), whose keys are apart from a deployment's
(``executor.keyspace``): pointed with ``REDIS_URL`` at a Redis a deployment uses, the demo's worker never
takes the deployment's jobs, nor the deployment's workers the demo's.
"""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

import requests

from executor.errors import CannotStart
from executor.localredis import LocalRedis, NoRedisServer, start_local_redis

DEMO_SECRET = "demo-webhook-secret"
DEMO_ADMIN_TOKEN = "demo-admin-token"
DEMO_QUEUE = "demo"
LOOPBACK = "127.0.0.1"
#: The longest the demo waits for its processes to answer before it gives up, saying which did not.
START_TIMEOUT_SECONDS = 30.0


def demo_environment(redis_url: str, port: int, simulator_port: int) -> dict[str, str]:
    from executor.simulator import (DEMO_BITGET_API_KEY, DEMO_BITGET_PASSPHRASE, DEMO_BITGET_SECRET_KEY,
                                    DEMO_COINW_API_KEY, DEMO_COINW_SECRET_KEY, DEMO_CROSSTRADE_ACCOUNT,
                                    DEMO_CROSSTRADE_TOKEN)

    simulator = f"http://{LOOPBACK}:{simulator_port}"
    return {
        **os.environ,
        "PORT": str(port),
        "WEB_HOST": LOOPBACK,
        "REDIS_URL": redis_url,
        "QUEUE_NAME": DEMO_QUEUE,
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
    """Run until Ctrl-C or SIGTERM; either stops every process the demo started, Redis included.
    Raises ``CannotStart`` (one line) when something keeps the demo from starting."""
    signal.signal(signal.SIGTERM, _interrupt)
    _require_free(port, "--port")
    _require_free(simulator_port, "--simulator-port")
    redis = _demo_redis()
    env = demo_environment(redis.url if redis else os.environ["REDIS_URL"], port, simulator_port)
    executor = [sys.executable, "-m", "executor"]
    processes: dict[str, subprocess.Popen] = {}
    try:
        processes["simulator"] = subprocess.Popen([*executor, "simulate", "--host", LOOPBACK, "--port",
                                                   str(simulator_port)], env=env)
        processes["worker"] = subprocess.Popen([*executor, "worker", "--name", f"demo-worker-{os.getpid()}"],
                                               env=env)
        processes["web"] = subprocess.Popen([*executor, "web"], env=env)
        _wait_until_up(processes, {"web": f"http://{LOOPBACK}:{port}/healthz",
                                   "simulator": f"http://{LOOPBACK}:{simulator_port}/_sim/health"})
        print(_instructions(port, simulator_port, redis.url if redis else None), flush=True)
        while all(process.poll() is None for process in processes.values()):
            time.sleep(0.5)
        print("a demo process stopped; shutting the demo down", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)  # a second SIGTERM ends the demo at once
        _stop(list(processes.values()))
        if redis is not None:
            redis.stop()


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt  # SIGTERM stops the demo as Ctrl-C does, through run_demo's clean-up


def _require_free(port: int, option: str) -> None:
    with socket.socket() as probe:
        try:
            probe.bind((LOOPBACK, port))
        except OSError:
            raise CannotStart(f"port {port} on {LOOPBACK} is already in use (choose another with {option})") \
                from None


def _demo_redis() -> LocalRedis | None:
    """The demo's own Redis server, unless REDIS_URL names one to use."""
    if os.environ.get("REDIS_URL"):
        return None
    try:
        return start_local_redis()
    except NoRedisServer as exc:
        raise CannotStart(str(exc)) from None
    except RuntimeError as exc:
        raise CannotStart(f"the demo's Redis server did not start: {exc}") from None


def _wait_until_up(processes: dict[str, subprocess.Popen], urls: dict[str, str]) -> None:
    """Until each URL answers 200; a process that exits meanwhile, or a wait past START_TIMEOUT_SECONDS,
    is one line naming it."""
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    waiting = dict(urls)
    while waiting:
        for name, process in processes.items():
            if process.poll() is not None:
                raise CannotStart(f"the demo's {name} process exited at start (code {process.returncode}); "
                                  f"its own message is above")
        for name, url in list(waiting.items()):
            if _answers(url):
                del waiting[name]
        if waiting and time.monotonic() > deadline:
            raise CannotStart(f"the demo's {', '.join(waiting)} did not answer within {START_TIMEOUT_SECONDS:.0f} s")
        time.sleep(0.2)


def _answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=1).status_code == 200
    except requests.RequestException:
        return False


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
    web = f"http://{LOOPBACK}:{port}"
    sim = f"http://{LOOPBACK}:{simulator_port}"
    redis_url = private_redis_url or "$REDIS_URL"
    return f"""
Demo running: web {web}, venue simulator {sim} (loopback only).
Open on the simulator: CoinW BTC long 10, Bitget BTCUSDT long 0.01, CrossTrade ES long 2 in Sim101.
Reverse the CoinW position:
  curl -s -X POST {web}/webhook -H 'Content-Type: text/plain' \\
    -d '{{"secret": "{DEMO_SECRET}", "venue": "coinw", "action": "reverse", "symbol": "BTCUSDT.P"}}'
Reverse the Bitget one, close 1 ES contract on NinjaTrader through CrossTrade:
  curl -s -X POST {web}/webhook -d '{{"secret": "{DEMO_SECRET}", "venue": "bitget", "action": "reverse", "symbol": "BITGET:BTCUSDT.P"}}'
  curl -s -X POST {web}/webhook -d '{{"secret": "{DEMO_SECRET}", "venue": "crosstrade", "action": "close", "symbol": "ES1!", "qty": 1}}'
See the job (use the job_id from the answer), and whether a worker is there to run it:
  curl -s -H 'Authorization: Bearer {DEMO_ADMIN_TOKEN}' {web}/jobs/JOB_ID
  curl -s {web}/healthz
See the positions on the venues:
  curl -s '{sim}/_sim/positions?venue=coinw'   (or venue=bitget, venue=crosstrade)
List the jobs from the command line (the demo's own queue):
  REDIS_URL={redis_url} QUEUE_NAME={DEMO_QUEUE} executor jobs list --all
Ctrl-C (or SIGTERM) stops everything the demo started.
"""
