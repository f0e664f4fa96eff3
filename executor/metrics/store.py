"""Counts kept in Redis, so they outlive a process and the web process can expose what the workers counted.

A process adds to its counts in memory (``MetricsBuffer.count``, ``observe``: no Redis command on the signal
path) and writes them to Redis in one pipelined round trip (``flush``): a worker after each job and every
second, the web every second and before each scrape, both at exit. A flush that fails keeps its counts for
the next one. A process killed outright loses at most the last second's counts of its own.

Layout, one hash per metric under the queue's key family (``executor.keyspace``), ``<prefix>metrics:<name>``:
a counter's field is the JSON list of its label values; a histogram's fields are ``b<i>:<labels>`` (the count
of values in bucket i alone, ``i == len(buckets)`` for +Inf) and ``sum:<labels>``.
"""
from __future__ import annotations

import bisect
import json
import logging
import os
import threading
import time
import weakref
from typing import Any

from redis import Redis
from redis.exceptions import RedisError

from executor.keyspace import key_prefix
from executor.metrics.catalogue import CATALOGUE, HISTOGRAM, Metric

log = logging.getLogger(__name__)

#: A flush that fails is logged at most this often (seconds); its counts wait for the next flush.
WARN_EVERY_SECONDS = 60.0

Labels = tuple[str, ...]
_buffers: weakref.WeakSet[MetricsBuffer] = weakref.WeakSet()


def metrics_prefix(queue_name: str) -> str:
    return key_prefix(queue_name) + "metrics:"


def _labels_field(labels: Labels) -> str:
    return json.dumps(list(labels), separators=(",", ":"))


class MetricsBuffer:
    """One process's counts not yet in Redis. Thread-safe; a forked child starts with none (its parent's
    are its parent's to write)."""

    def __init__(self, redis: Redis, queue_name: str) -> None:
        self.redis = redis
        self.prefix = metrics_prefix(queue_name)
        self._lock = threading.Lock()
        self._counts: dict[tuple[str, Labels], float] = {}
        self._histograms: dict[tuple[str, Labels], list[float]] = {}
        self._warned_at = -WARN_EVERY_SECONDS
        _buffers.add(self)

    def count(self, metric: Metric, *labels: str, amount: float = 1) -> None:
        with self._lock:
            key = (metric.name, labels)
            self._counts[key] = self._counts.get(key, 0) + amount

    def observe(self, metric: Metric, value: float, *labels: str) -> None:
        """One value of a histogram: its bucket's count and the sum."""
        assert metric.kind == HISTOGRAM, metric.name
        with self._lock:
            cells = self._histograms.setdefault((metric.name, labels), [0.0] * (len(metric.buckets) + 2))
            cells[bisect.bisect_left(metric.buckets, value)] += 1
            cells[-1] += value

    def flush(self) -> bool:
        """Write the counts to Redis in one round trip; False (counts kept for the next try) if Redis failed."""
        with self._lock:
            counts, histograms = self._counts, self._histograms
            self._counts, self._histograms = {}, {}
        if not counts and not histograms:
            return True
        try:
            self._write(counts, histograms)
        except RedisError as exc:
            self._keep(counts, histograms)
            if time.monotonic() - self._warned_at >= WARN_EVERY_SECONDS:
                self._warned_at = time.monotonic()
                log.warning("metrics: could not write counts to Redis (%s); kept for the next try",
                            type(exc).__name__)
            return False
        return True

    def _write(self, counts: dict[tuple[str, Labels], float], histograms: dict[tuple[str, Labels], list[float]]) -> None:
        with self.redis.pipeline(transaction=False) as pipe:
            for (name, labels), amount in counts.items():
                pipe.hincrbyfloat(self.prefix + name, _labels_field(labels), amount)
            for (name, labels), cells in histograms.items():
                field = _labels_field(labels)
                for index, hits in enumerate(cells[:-1]):
                    if hits:
                        pipe.hincrby(self.prefix + name, f"b{index}:{field}", int(hits))
                pipe.hincrbyfloat(self.prefix + name, f"sum:{field}", cells[-1])
            pipe.execute()

    def _keep(self, counts: dict[tuple[str, Labels], float], histograms: dict[tuple[str, Labels], list[float]]) -> None:
        with self._lock:
            for key, amount in counts.items():
                self._counts[key] = self._counts.get(key, 0) + amount
            for key, cells in histograms.items():
                kept = self._histograms.setdefault(key, [0.0] * len(cells))
                self._histograms[key] = [a + b for a, b in zip(kept, cells)]

    def _forget_inherited(self) -> None:
        self._lock = threading.Lock()
        self._counts, self._histograms = {}, {}


def _after_fork_in_child() -> None:
    for buffer in list(_buffers):
        buffer._forget_inherited()


os.register_at_fork(after_in_child=_after_fork_in_child)


class StoredCounts:
    """What Redis holds for every metric of the catalogue, read in one round trip."""

    def __init__(self, redis: Redis, queue_name: str) -> None:
        prefix = metrics_prefix(queue_name)
        with redis.pipeline(transaction=False) as pipe:
            for metric in CATALOGUE:
                pipe.hgetall(prefix + metric.name)
            raw = pipe.execute()
        self._hashes = {metric.name: {key.decode(): value.decode() for key, value in stored.items()}
                        for metric, stored in zip(CATALOGUE, raw)}

    def counter(self, metric: Metric) -> dict[Labels, float]:
        return {tuple(json.loads(field)): float(value) for field, value in self._hashes[metric.name].items()}

    def histogram(self, metric: Metric) -> dict[Labels, tuple[list[int], float]]:
        """Per label values: the count of each bucket alone (the last is +Inf), and the sum."""
        found: dict[Labels, tuple[list[int], float]] = {}
        for field, value in self._hashes[metric.name].items():
            part, _, labels_text = field.partition(":")
            labels = tuple(json.loads(labels_text))
            cells, total = found.get(labels, ([0] * (len(metric.buckets) + 1), 0.0))
            if part == "sum":
                total = float(value)
            else:
                cells[int(part[1:])] = int(value)
            found[labels] = (cells, total)
        return found


def metric_labels(value: Any) -> str:
    """A label value as text (None: ``-``)."""
    return "-" if value is None else str(value)
