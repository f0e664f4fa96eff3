"""A redis-server the test starts, kills with SIGKILL and starts again on the same port and the same data."""
from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

from redis import Redis
from redis.exceptions import RedisError

from executor.localredis import free_port, redis_server_binary

#: Append-only, every write on disk before Redis answers it: what the README asks of a deployment.
DURABLE = ("--appendonly", "yes", "--appendfsync", "always", "--save", "")


class RedisServer:
    """One redis-server on loopback with its data in ``directory``; ``options`` as redis-server takes them."""

    def __init__(self, directory: Path, *options: str) -> None:
        self.directory = directory
        self.options = options
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen | None = None
        self.log = directory / "redis.log"

    def start(self, timeout: float = 15.0) -> RedisServer:
        """Start it and return once it answers PING (after loading its data)."""
        self.process = subprocess.Popen(
            [redis_server_binary(), "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.directory),
             "--logfile", str(self.log), *self.options], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        client = Redis.from_url(self.url, socket_connect_timeout=0.2, socket_timeout=1)
        while time.monotonic() < deadline:
            try:
                client.ping()
                return self
            except RedisError:
                if self.process.poll() is not None:
                    break
                time.sleep(0.02)
        raise RuntimeError(f"redis-server did not answer on port {self.port}: {self.log.read_text()[-2000:]}")

    def kill(self) -> None:
        """SIGKILL, as when its machine or container dies: nothing is flushed beyond what it already wrote."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=5)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.kill()

    def __enter__(self) -> RedisServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
