"""``executor demo``, the README's first command: it comes up, performs an alert, shows where its jobs are,
and SIGTERM stops it all."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading

import pytest
import requests

from executor.demo import DEMO_ADMIN_TOKEN, DEMO_SECRET
from executor.localredis import free_port
from tests.processes import wait_until

pytestmark = [pytest.mark.slow, pytest.mark.e2e]


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def test_the_demo_comes_up_performs_a_reversal_and_stops_everything_on_sigterm(tmp_path):
    port, simulator_port = free_port(), free_port()
    env = {key: value for key, value in os.environ.items() if key != "REDIS_URL"}  # its own private Redis
    with open(tmp_path / "demo.log", "wb") as log:
        demo = subprocess.Popen([sys.executable, "-m", "executor", "demo", "--port", str(port),
                                 "--simulator-port", str(simulator_port)], env=env, stdout=subprocess.PIPE,
                                stderr=log, start_new_session=True)
    printed: list[str] = []
    threading.Thread(target=lambda: printed.extend(line.decode() for line in demo.stdout), daemon=True).start()
    try:
        assert wait_until(lambda: any("Demo running" in line for line in printed), timeout=40), \
            (tmp_path / "demo.log").read_text()[-3000:]
        web = f"http://127.0.0.1:{port}"
        answer = requests.post(f"{web}/webhook", timeout=5, data=(
            f'{{"secret": "{DEMO_SECRET}", "venue": "coinw", "action": "reverse", "symbol": "BTCUSDT.P"}}'))
        assert answer.status_code == 202
        job = f"{web}/jobs/{answer.json()['job_id']}"
        auth = {"Authorization": f"Bearer {DEMO_ADMIN_TOKEN}"}
        assert wait_until(lambda: requests.get(job, headers=auth, timeout=5).json()["status"] == "finished",
                          timeout=15)
        (shown,) = [line.split()[0] for line in printed if "jobs list --all" in line]
        listed = subprocess.run([sys.executable, "-m", "executor", "jobs", "list", "--all"], capture_output=True,
                                env={**env, "REDIS_URL": shown.removeprefix("REDIS_URL=")}, timeout=30, text=True)
        assert listed.returncode == 0 and answer.json()["job_id"] in listed.stdout and "finished" in listed.stdout
        demo.send_signal(signal.SIGTERM)
        assert demo.wait(timeout=40) == 0
        assert wait_until(lambda: not group_alive(demo.pid), timeout=15)  # web, worker, simulator, redis-server
    finally:
        if group_alive(demo.pid):
            os.killpg(demo.pid, signal.SIGKILL)
        demo.wait(timeout=10)
