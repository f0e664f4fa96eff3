"""The bounded log of every venue request the simulator received.

Tests read it to see exactly what an adapter sent; benchmarks read
``received_at`` and ``answered_at`` (wall clock) for latency and ``sim_time``
(simulator clock) for rate-limit checks. Headers are never recorded, so no signature and no
secret can end up here.
"""
from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass
from typing import Any

#: How many entries the log keeps; older ones are dropped first.
MAX_LOG_ENTRIES = 100_000


@dataclass(slots=True)
class RequestRecord:
    """One request as received, completed with its outcome when answered."""

    seq: int
    venue: str
    method: str
    path: str
    query: str
    body: str
    received_at: float
    sim_time: float
    api_key: str | None = None
    status: int | None = None
    code: int | str | None = None
    """The venue code answered; under an "after" fault, that of the hidden answer."""
    rate_limited: bool = False
    fault: str | None = None
    counted: bool = False
    """True when the request passed the venue's rate limiter (it used quota)."""
    answered_at: float | None = None
    """When the answer had been written to the connection (wall clock); None while answering, or when the
    connection was dropped instead. ``answered_at - received_at`` is the simulator's own time to answer."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "venue": self.venue,
            "method": self.method,
            "path": self.path,
            "query": self.query,
            "body": self.body,
            "received_at": self.received_at,
            "sim_time": self.sim_time,
            "api_key": self.api_key,
            "status": self.status,
            "code": self.code,
            "rate_limited": self.rate_limited,
            "fault": self.fault,
            "counted": self.counted,
            "answered_at": self.answered_at,
        }


class RequestLog:
    """Thread-safe, bounded, append-only log with increasing sequence numbers."""

    def __init__(self, max_entries: int = MAX_LOG_ENTRIES) -> None:
        self._lock = threading.Lock()
        self._entries: deque[RequestRecord] = deque(maxlen=max_entries)
        self._next_seq = 1

    def open(self, venue: str, method: str, path: str, query: str, body: str,
             received_at: float, sim_time: float) -> RequestRecord:
        """Append a record at arrival; the caller fills in the outcome later."""
        with self._lock:
            record = RequestRecord(self._next_seq, venue, method, path, query, body,
                                   received_at, sim_time)
            self._next_seq += 1
            self._entries.append(record)
        return record

    def records(self, venue: str | None = None, since: int = 0) -> list[RequestRecord]:
        """Records with ``seq > since``, oldest first, optionally of one venue."""
        with self._lock:
            entries = list(self._entries)
        if entries and since >= entries[0].seq:
            entries = entries[since - entries[0].seq + 1:]
        if venue is not None:
            entries = [r for r in entries if r.venue == venue]
        return entries

    def last_seq(self) -> int:
        with self._lock:
            return self._next_seq - 1

    def clear(self) -> None:
        """Forget every entry; sequence numbers keep increasing."""
        with self._lock:
            self._entries.clear()
