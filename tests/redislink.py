"""A TCP relay between Redis clients and Redis, standing for the network between them, under the test's control.

It reads the Redis protocol both ways, so it can cut the connection at an exact command: before the command
reaches Redis, or after Redis ran it and before its answer reaches the client (the commands the client sent
after it are held back, so Redis has run exactly the commands up to it). It can also drop every connection,
or freeze them (a partition: commands neither arrive nor fail) at a moment the test picks, or when a client
sends a write holding given markers, or take Redis away from them (every connection dropped, new ones
refused) until the test brings it back.
"""
from __future__ import annotations

import socket
import threading
from collections import deque
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Iterator
from urllib.parse import urlsplit

#: Commands a client sends on its own when it connects: not counted, so a reconnection does not shift the count.
HANDSHAKE = frozenset({b"HELLO", b"CLIENT", b"SELECT", b"AUTH", b"PING"})


def parse_command(buf: bytes) -> tuple[list[bytes], int] | None:
    """The first whole command in ``buf`` (its arguments, and how many bytes it took), or None."""
    if not buf.startswith(b"*"):
        end = buf.find(b"\r\n")
        return (buf[:end].split(), end + 2) if end >= 0 else None
    end = buf.find(b"\r\n")
    if end < 0:
        return None
    count, pos, args = int(buf[1:end]), end + 2, []
    for _ in range(count):
        end = buf.find(b"\r\n", pos)
        if end < 0:
            return None
        size = int(buf[pos + 1:end])
        if len(buf) < end + 2 + size + 2:
            return None
        args.append(buf[end + 2:end + 2 + size])
        pos = end + 2 + size + 2
    return args, pos


def reply_end(buf: bytes, pos: int = 0) -> int | None:
    """Where the reply (RESP2 or RESP3) starting at ``pos`` ends, or None when it has not all arrived."""
    end = buf.find(b"\r\n", pos)
    if end < 0:
        return None
    kind, head = buf[pos:pos + 1], buf[pos + 1:end]
    if kind in b"+-:_,#(":
        return end + 2
    if kind in b"$=!":
        size = int(head)
        stop = end + 2 + size + 2
        return end + 2 if size < 0 else (stop if len(buf) >= stop else None)
    count = int(head)
    elements = count * 2 if kind in b"%|" else count
    at: int | None = end + 2
    for _ in range(max(elements, 0)):
        at = reply_end(buf, at)
        if at is None:
            return None
    return reply_end(buf, at) if kind == b"|" else at  # an attribute precedes the reply it is about


@dataclass
class _Connection:
    client: socket.socket
    server: socket.socket
    pending: deque = field(default_factory=deque)  # the number of each command sent up, in order (None: uncounted)
    holding: bool = False  # after a command whose answer is to be lost: nothing more goes up
    lock: threading.Lock = field(default_factory=threading.Lock)


class RedisLink:
    """A relay to the Redis at ``redis_url``; clients connect to ``url``."""

    def __init__(self, redis_url: str) -> None:
        target = urlsplit(redis_url)
        self.upstream = (target.hostname, target.port)
        self.flowing = threading.Event()
        self.flowing.set()
        self.fired = False
        self.refusing = threading.Event()  # Redis is away: connections are dropped as they open
        self.commands: list[list[bytes]] = []  # every counted command, in the order it arrived
        self._closed = False
        self._trigger: tuple[str, tuple[bytes, ...]] | None = None
        self._cut_at: tuple[str, int] | None = None
        self._lock = threading.Lock()
        self._connections: list[_Connection] = []
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"redis://127.0.0.1:{self._listener.getsockname()[1]}/0"
        threading.Thread(target=self._accept, name="redis-link", daemon=True).start()

    @property
    def frozen(self) -> bool:
        return not self.flowing.is_set()

    def freeze(self) -> None:
        self.flowing.clear()

    def thaw(self) -> None:
        self.flowing.set()

    def on_command(self, action: str, *markers: bytes) -> None:
        """``freeze``, ``cut`` or ``down`` (cut, and refuse new connections until ``up``) when a client sends a
        write holding every marker, before it reaches Redis."""
        self._trigger = (action, markers)

    def up(self) -> None:
        """Redis is reachable again."""
        self.refusing.clear()

    def cut_at(self, number: int, when: str) -> None:
        """Drop every connection at the ``number``-th counted command from now: ``before`` it reaches Redis, or
        ``after`` Redis ran it (its answer, and anything sent after it, never pass)."""
        assert when in ("before", "after")
        with self._lock:
            self.commands, self.fired, self._cut_at = [], False, (when, number)

    def count_from_now(self) -> None:
        with self._lock:
            self.commands, self._cut_at = [], None

    def cut(self) -> None:
        """Drop every open connection; new ones are let through."""
        with self._lock:
            doomed, self._connections = self._connections, []
        for connection in doomed:
            for sock in (connection.client, connection.server):
                _shut(sock)
                sock.close()

    @contextmanager
    def thawed_on_exit(self) -> Iterator[RedisLink]:
        try:
            yield self
        finally:
            self.thaw()

    def close(self) -> None:
        self._closed = True
        self.thaw()
        self._listener.close()
        self.cut()

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
                if self.refusing.is_set():
                    _shut(client)
                    client.close()
                    continue
                server = socket.create_connection(self.upstream, timeout=5)
            except OSError:
                return
            server.settimeout(None)
            connection = _Connection(client, server)
            with self._lock:
                self._connections.append(connection)
            threading.Thread(target=self._up, args=(connection,), daemon=True).start()
            threading.Thread(target=self._down, args=(connection,), daemon=True).start()

    def _up(self, connection: _Connection) -> None:
        buf = b""
        try:
            while data := connection.client.recv(65536):
                if self._fires(data) in ("cut", "down"):
                    self.cut()
                    return
                buf += data
                out, cut_now, buf = self._commands_to_send(connection, buf)
                self._wait_flowing()
                if out:
                    connection.server.sendall(out)
                if cut_now:
                    self.cut()
                    return
        except OSError:
            pass
        finally:
            _shut(connection.client)
            _shut(connection.server)

    def _commands_to_send(self, connection: _Connection, buf: bytes) -> tuple[bytes, bool, bytes]:
        """The bytes of the whole commands in ``buf`` that go up, whether to cut once they have, and what is
        left of ``buf`` (a command not all arrived yet)."""
        out = b""
        while (parsed := parse_command(buf)) is not None:
            args, size = parsed
            raw, buf = buf[:size], buf[size:]
            number = self._count(args)
            if connection.holding:
                continue
            with self._lock:
                cut_at = self._cut_at
            if number is not None and cut_at == ("before", number):
                with self._lock:
                    self._cut_at, self.fired = None, True
                return out, True, b""
            with connection.lock:
                connection.pending.append(number)
            out += raw
            if number is not None and cut_at == ("after", number):
                connection.holding = True
        return out, False, buf

    def _down(self, connection: _Connection) -> None:
        buf = b""
        try:
            while data := connection.server.recv(65536):
                buf += data
                out = b""
                while (end := reply_end(buf)) is not None:
                    raw, buf = buf[:end], buf[end:]
                    if raw.startswith(b">"):  # a push message answers no command
                        out += raw
                        continue
                    with connection.lock:
                        number = connection.pending.popleft() if connection.pending else None
                    if number is not None and self._cut_at == ("after", number):
                        with self._lock:
                            self._cut_at, self.fired = None, True
                        self.cut()
                        return
                    out += raw
                self._wait_flowing()
                if out:
                    connection.client.sendall(out)
        except OSError:
            pass
        finally:
            _shut(connection.client)
            _shut(connection.server)

    def _count(self, args: list[bytes]) -> int | None:
        if not args or args[0].upper() in HANDSHAKE:
            return None
        with self._lock:
            self.commands.append(args)
            return len(self.commands)

    def _wait_flowing(self) -> None:
        while not self.flowing.wait(0.5):
            if self._closed:
                raise OSError("link closed")

    def _fires(self, data: bytes) -> str | None:
        with self._lock:
            if self._trigger is None or not all(marker in data for marker in self._trigger[1]):
                return None
            action, self._trigger, self.fired = self._trigger[0], None, True
        if action == "freeze":
            self.freeze()
        if action == "down":
            self.refusing.set()
        return action


def _shut(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
