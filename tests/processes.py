"""Real worker processes for the tests that need several of them, or need to kill one."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable

from executor.simulator import DEMO_COINW_API_KEY, DEMO_COINW_SECRET_KEY


def worker_environment(redis_url: str, simulator_url: str, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "REDIS_URL": redis_url,
        "COINW_BASE_URL": simulator_url,
        "COINW_API_KEY": DEMO_COINW_API_KEY,
        "COINW_SECRET_KEY": DEMO_COINW_SECRET_KEY,
        "COINW_FUNDING_TIMES": "none",
        **extra,
    }


class WorkerProcesses:
    """``count`` processes of ``executor worker``, logs in ``directory``; stopped on exit, always."""

    def __init__(self, env: dict[str, str], count: int, directory: Path, *, prefix: str = "test-worker") -> None:
        self.env = env
        self.directory = directory
        self.processes: list[subprocess.Popen] = []
        self._logs: list = []
        for number in range(count):
            self.start(f"{prefix}-{os.getpid()}-{number}")

    def start(self, name: str) -> subprocess.Popen:
        log = open(self.directory / f"{name}.log", "w")
        self._logs.append(log)
        process = subprocess.Popen([sys.executable, "-m", "executor", "worker", "--name", name], env=self.env,
                                   stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        self.processes.append(process)
        return process

    def logs(self) -> str:
        return "\n".join(path.read_text()[-3000:] for path in sorted(self.directory.glob("*.log")))

    def stop(self, timeout: float = 15.0) -> None:
        stop_all(self.processes, timeout)
        for log in self._logs:
            log.close()

    def __enter__(self) -> WorkerProcesses:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (a forking worker's work horse runs in a process group of its own)."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            children = [int(child) for child in (task / "children").read_text().split()]
        except OSError:
            continue
        for child in children:
            found += [child, *descendants(child)]
    return found


def stop_all(processes: list[subprocess.Popen], timeout: float) -> None:
    """SIGTERM to each process, then a wait bounded by ``timeout`` in all; one still running is killed with
    everything it started."""
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + timeout
    for process in processes:
        try:
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            kill_tree(process)


def stop_group(process: subprocess.Popen, timeout: float) -> None:
    """SIGTERM to the process's group (a gunicorn master and its workers), SIGKILL past ``timeout``."""
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=5)


def kill_tree(process: subprocess.Popen) -> None:
    """SIGKILL a worker and every process it started, as when its machine dies."""
    for pid in [*descendants(process.pid), process.pid]:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    process.wait(timeout=5)


def wait_until(condition: Callable[[], bool], timeout: float, interval: float = 0.05) -> bool:
    """Poll ``condition`` until it holds or ``timeout`` seconds pass; never longer."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(interval)
    return condition()

