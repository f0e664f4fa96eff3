"""``GET /metrics``: the counts every process keeps in Redis, and gauges read from Redis at scrape time, in
the Prometheus text format (prometheus-client's custom collector API).

Only the web process is scraped: a worker (a Heroku worker dyno cannot be reached) writes its counts to
Redis, and they are exposed here with everyone else's.
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Callable, Iterator

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector, CollectorRegistry
from rq import Queue

from executor.health import live_workers, oldest_waiting_seconds
from executor.lanes import Lanes
from executor.metrics import catalogue
from executor.metrics.catalogue import ALERT_OUTCOMES, ALERTS, COUNTER, STAGE_SECONDS, STAGES
from executor.metrics.store import StoredCounts
from executor.notify.outbox import outbox_length

#: Label values shown at 0 before anything is counted, so a dashboard's series exist from the start.
KNOWN_LABELS: dict[str, list[tuple[str, ...]]] = {
    ALERTS.name: [(outcome,) for outcome in ALERT_OUTCOMES],
    STAGE_SECONDS.name: [(stage,) for stage in STAGES],
    catalogue.RATE_LIMIT_WAIT.name: [()],
}


class ExecutorCollector(Collector):
    """Yields every metric of ``executor.metrics.catalogue`` from Redis, and the queue's gauges."""

    def __init__(self, queue: Queue, clock: Callable[[], datetime] | None = None) -> None:
        self.queue = queue
        self.clock = clock or (lambda: datetime.now(timezone.utc))

    def collect(self) -> Iterator[Metric]:
        stored = StoredCounts(self.queue.connection, self.queue.name)
        for metric in catalogue.CATALOGUE:
            yield _counter(metric, stored) if metric.kind == COUNTER else _histogram(metric, stored)
        yield from self._gauges()

    def _gauges(self) -> Iterator[Metric]:
        now = self.clock()
        waited, _ = oldest_waiting_seconds(self.queue, now)
        yield _gauge(catalogue.QUEUE_DEPTH, self.queue.count)
        deferred = GaugeMetricFamily(catalogue.DEFERRED_JOBS.name, catalogue.DEFERRED_JOBS.help, labels=["kind"])
        deferred.add_metric(["scheduled"], self.queue.scheduled_job_registry.count)
        deferred.add_metric(["order"], _waiting_in_lanes(self.queue))
        yield deferred
        yield _gauge(catalogue.LIVE_WORKERS, live_workers(self.queue, now))
        yield _gauge(catalogue.OLDEST_WAITING, waited)
        yield _gauge(catalogue.FAILED_JOBS, self.queue.failed_job_registry.count)
        yield _gauge(catalogue.NOTIFICATIONS_PENDING, outbox_length(self.queue.connection, self.queue.name))


def _counter(metric: catalogue.Metric, stored: StoredCounts) -> Metric:
    family = CounterMetricFamily(metric.name, metric.help, labels=list(metric.labels))
    values = stored.counter(metric)
    for labels in KNOWN_LABELS.get(metric.name, []):
        values.setdefault(labels, 0.0)
    for labels, value in sorted(values.items()):
        family.add_metric(list(labels), value)
    return family


def _histogram(metric: catalogue.Metric, stored: StoredCounts) -> Metric:
    family = HistogramMetricFamily(metric.name, metric.help, labels=list(metric.labels))
    values = stored.histogram(metric)
    for labels in KNOWN_LABELS.get(metric.name, []):
        values.setdefault(labels, ([0] * (len(metric.buckets) + 1), 0.0))
    for labels, (cells, total) in sorted(values.items()):
        running, buckets = 0, []
        for bound, hits in zip([*map(_bound, metric.buckets), "+Inf"], cells):
            running += hits
            buckets.append((bound, running))
        family.add_metric(list(labels), buckets, total)
    return family


def _bound(value: float) -> str:
    return repr(float(value))


def _gauge(metric: catalogue.Metric, value: float) -> Metric:
    gauge = GaugeMetricFamily(metric.name, metric.help)
    gauge.add_metric([], value)
    return gauge


def _waiting_in_lanes(queue: Queue) -> int:
    """Jobs behind their lane's head: each lane's length less its head."""
    lanes = Lanes(queue)
    names = lanes.known_lanes()
    if not names:
        return 0
    with queue.connection.pipeline(transaction=False) as pipe:
        for name in names:
            pipe.llen(lanes.key(name))
        lengths = pipe.execute()
    return sum(max(0, length - 1) for length in lengths)


def render(queue: Queue) -> tuple[bytes, str]:
    """The exposition and its content type."""
    registry = CollectorRegistry()
    registry.register(ExecutorCollector(queue))
    return generate_latest(registry), CONTENT_TYPE_LATEST
