"""A real authenticating forward proxy (proxy.py, from the test extra) on loopback, as a process of its own."""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from tests.processes import stop_group

ROOT = Path(__file__).resolve().parent.parent

#: Longest wait for the proxy to listen, and for it to stop.
START_TIMEOUT_S = 15.0
STOP_TIMEOUT_S = 5.0


class AuthenticatingProxy:
    """``python -m proxy`` demanding Basic credentials (``--basic-auth``); a request without them gets 407.

    Every request it forwards is recorded by the ``tests.proxy_recorder`` plugin (``forwarded()``); its log
    has a ``ProxyAuthenticationFailed`` line per refusal."""

    def __init__(self, directory: Path, user: str, password: str) -> None:
        self.user, self.password = user, password
        self.log_path = directory / "proxy.log"
        self.record_path = directory / "proxy-requests.jsonl"
        port_file = directory / "proxy.port"
        self.process = subprocess.Popen(
            [sys.executable, "-m", "proxy", "--hostname", "127.0.0.1", "--port", "0", "--port-file", str(port_file),
             "--basic-auth", f"{user}:{password}", "--plugins", "tests.proxy_recorder.RecordRequests",
             "--num-workers", "1", "--num-acceptors", "1", "--log-level", "INFO", "--log-file", str(self.log_path)],
            cwd=ROOT, env={**os.environ, "TEST_PROXY_RECORD": str(self.record_path)},
            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            self.port = _wait_for_port(self.process, port_file)
        except BaseException:
            self.stop()
            raise

    def url(self, user: str | None = None, password: str | None = None) -> str:
        """The proxy's URL with the given credentials (its own by default; "" for none)."""
        user = self.user if user is None else user
        password = self.password if password is None else password
        credentials = f"{user}:{password}@" if user or password else ""
        return f"http://{credentials}127.0.0.1:{self.port}"

    @property
    def address(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log(self) -> str:
        return self.log_path.read_text() if self.log_path.exists() else ""

    def forwarded(self) -> list[dict[str, str]]:
        """Every request the proxy accepted and forwarded: ``method``, ``target`` (host:port and path, or a
        tunnel's host:port) and ``proxy_authorization`` (``valid``, ``wrong`` or ``missing``)."""
        text = self.record_path.read_text() if self.record_path.exists() else ""
        return [json.loads(line) for line in text.splitlines()]

    def refusals(self) -> int:
        return self.log().count("ProxyAuthenticationFailed")

    def stop(self) -> None:
        """End the proxy and the worker processes it started (its own process group)."""
        stop_group(self.process, STOP_TIMEOUT_S)
        try:
            os.killpg(self.process.pid, signal.SIGKILL)  # any worker left behind
        except ProcessLookupError:
            pass


def _wait_for_port(process: subprocess.Popen, port_file: Path) -> int:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"proxy.py exited at start with code {process.returncode}")
        text = port_file.read_text().strip() if port_file.exists() else ""
        if text:
            port = int(text.split()[0])
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                return port
            except OSError:
                pass
        time.sleep(0.05)
    raise RuntimeError(f"proxy.py did not listen within {START_TIMEOUT_S} s")
