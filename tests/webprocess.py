"""The real web process for the tests that need one: gunicorn as the Procfile runs it, on a free loopback port."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import requests

from executor.localredis import free_port
from tests.conftest import ADMIN_TOKEN, WEBHOOK_SECRET
from tests.processes import stop_group, wait_until, worker_environment

ROOT = Path(__file__).resolve().parent.parent
#: The longest a web process may take to answer /healthz after it starts.
START_SECONDS = 30.0


def web_environment(redis_url: str, simulator_url: str, port: int, **extra: str) -> dict[str, str]:
    """The worker's environment and the web's own settings; ``extra`` may replace any of them."""
    return worker_environment(redis_url, simulator_url, **{
        "PORT": str(port), "WEB_HOST": "127.0.0.1", "WEB_CONCURRENCY": "2", "WEB_THREADS": "4",
        "WEBHOOK_SECRET": WEBHOOK_SECRET, "ADMIN_TOKEN": ADMIN_TOKEN, **extra})


class WebProcess:
    """``gunicorn -c config/gunicorn.py wsgi:app``, its log in ``log_path``; stopped on exit, always."""

    def __init__(self, redis_url: str, simulator_url: str, log_path: Path, **extra: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        self._log = open(log_path, "w")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", str(ROOT / "config" / "gunicorn.py"), "wsgi:app"],
            cwd=ROOT, env=web_environment(redis_url, simulator_url, self.port, **extra), stdout=self._log,
            stderr=subprocess.STDOUT, start_new_session=True)
        if not wait_until(self._answers, START_SECONDS, interval=0.1):
            self.stop()
            raise RuntimeError(f"the web process did not answer within {START_SECONDS} s:\n{self.logs()}")

    def _answers(self) -> bool:
        if self.process.poll() is not None:
            raise RuntimeError(f"the web process exited with {self.process.returncode}:\n{self.logs()}")
        try:
            return requests.get(f"{self.url}/healthz", timeout=1).status_code == 200
        except requests.RequestException:
            return False

    def logs(self) -> str:
        self._log.flush()
        return self.log_path.read_text()[-4000:]

    def stop(self) -> None:
        stop_group(self.process, 15)
        self._log.close()

    def __enter__(self) -> WebProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
