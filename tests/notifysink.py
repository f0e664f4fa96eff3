"""A notification service on loopback, in a process of its own: it takes Apprise's ``json://`` posts.

    python -m tests.notifysink PORT

``POST`` anywhere but ``/_sink/``: a notification; it is recorded and answered as the mode says: ``ok``
(200), ``fail`` (500) or ``hang`` (no answer for ``hang_seconds``, then 200). ``GET /_sink/received``: what
was recorded (each ``{"path", "body", "at"}``), ``POST /_sink/mode`` with ``{"mode", "hang_seconds"}`` sets
the mode, ``POST /_sink/clear`` forgets what was recorded.
"""
from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import requests

from executor.localredis import free_port
from tests.processes import stop_all, wait_until

_lock = threading.Lock()
_received: list[dict[str, Any]] = []
_mode: dict[str, Any] = {"mode": "ok", "hang_seconds": 30.0}


class SinkHandler(BaseHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def _answer(self, status: int, body: Any = None) -> None:
        data = json.dumps(body if body is not None else {}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        if self.path == "/_sink/received":
            with _lock:
                self._answer(200, list(_received))
        else:
            self._answer(404)

    def do_POST(self) -> None:
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.path == "/_sink/mode":
            _mode.update(json.loads(raw))
            return self._answer(200, _mode)
        if self.path == "/_sink/clear":
            with _lock:
                _received.clear()
            return self._answer(200)
        with _lock:
            _received.append({"path": self.path, "body": raw.decode("utf-8", "replace"), "at": time.time()})
        if _mode["mode"] == "fail":
            return self._answer(500, {"error": "the sink refuses"})
        if _mode["mode"] == "hang":
            time.sleep(float(_mode["hang_seconds"]))
        self._answer(200)


class NotifySink:
    """The sink in a process of its own, on a free loopback port; stopped on exit."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process = subprocess.Popen([sys.executable, "-m", "tests.notifysink", str(self.port)])
        assert wait_until(self._up, timeout=10), "the notification sink did not start"

    def _up(self) -> bool:
        try:
            return requests.get(f"{self.url}/_sink/received", timeout=1).status_code == 200
        except requests.RequestException:
            return False

    def apprise_url(self, path: str = "/notify", **params: str) -> str:
        query = "&".join(f"{key}={value}" for key, value in params.items())
        return f"json://127.0.0.1:{self.port}{path}" + (f"?{query}" if query else "")

    def received(self) -> list[dict[str, Any]]:
        """Each notification as Apprise posted it (``title``, ``message``, ``type``...), with its ``path``."""
        entries = requests.get(f"{self.url}/_sink/received", timeout=5).json()
        return [{**json.loads(entry["body"]), "path": entry["path"], "raw": entry["body"]} for entry in entries]

    def mode(self, mode: str, hang_seconds: float = 30.0) -> None:
        requests.post(f"{self.url}/_sink/mode", json={"mode": mode, "hang_seconds": hang_seconds}, timeout=5)

    def clear(self) -> None:
        requests.post(f"{self.url}/_sink/clear", timeout=5)

    def stop(self) -> None:
        stop_all([self.process], timeout=5)

    def __enter__(self) -> NotifySink:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


if __name__ == "__main__":
    server = ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), SinkHandler)
    server.daemon_threads = True
    server.serve_forever()
