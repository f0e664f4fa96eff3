"""The venue simulator as a real process (``executor simulate``), its log in a file; stopped on exit, always.
(The web process is ``tests.webprocess``.)"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import requests

from executor.localredis import free_port
from tests.processes import stop_group, wait_until


class _Process:
    def __init__(self, argv: list[str], env: dict[str, str], log_path: Path, url: str, health: str) -> None:
        self.url = url
        self.log_path = log_path
        self._log = open(log_path, "w")
        self.process = subprocess.Popen(argv, env=env, stdout=self._log, stderr=subprocess.STDOUT,
                                        start_new_session=True)
        if not wait_until(lambda: self._answers(health), timeout=30):
            self.stop()
            raise AssertionError(f"{argv} did not come up:\n{self.log()}")

    def _answers(self, path: str) -> bool:
        if self.process.poll() is not None:
            return False
        try:
            return requests.get(self.url + path, timeout=1).status_code == 200
        except requests.RequestException:
            return False

    def log(self) -> str:
        return self.log_path.read_text()

    def stop(self, timeout: float = 25.0) -> None:
        stop_group(self.process, timeout)
        self._log.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


class SimulatorProcess(_Process):
    """``executor simulate`` with its demo positions (CoinW BTC long 10 for the demo key), on a free port."""

    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        self.port = free_port()
        super().__init__([sys.executable, "-m", "executor", "simulate", "--port", str(self.port)], env, log_path,
                         f"http://127.0.0.1:{self.port}", "/_sim/health")
        self.base_url = self.url
