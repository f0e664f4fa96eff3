"""Fixtures: a real Redis (TEST_REDIS_URL, or a private redis-server) and the venue simulator."""
from __future__ import annotations

import os
from datetime import datetime, timezone
from typing import Iterator

import pytest
from redis import Redis
from rq.serializers import JSONSerializer

from config.funding import NO_SCHEDULE
from config.secrets import Secret
from config.settings import CoinWSettings, Settings
from executor.app import create_app
from executor.cli import main as cli_main
from executor.localredis import start_local_redis
from executor.alertqueue import make_queue
from executor.redis_client import connect
from workers.runtime import Runtime, install_runtime
from workers.worker import ExecutorWorker

WEBHOOK_SECRET = "test-webhook-secret-5f2c"
NO_FUNDING = {venue: NO_SCHEDULE for venue in ("coinw", "bitget", "crosstrade")}
ADMIN_TOKEN = "test-admin-token-91ab"


def pytest_configure(config: pytest.Config) -> None:
    processes = getattr(config.option, "numprocesses", None)  # pytest-xdist's -n
    if os.environ.get("TEST_REDIS_URL") and processes not in (None, 0, 1):
        raise pytest.UsageError("TEST_REDIS_URL gives every test process the same Redis, and each empties it: "
                                "run with -n 0, or unset it (each process then starts its own)")


class FixedClock:
    """A clock tests move by hand."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    # Not REDIS_URL: the tests empty their database, and REDIS_URL may be a deployment's.
    given = os.environ.get("TEST_REDIS_URL")
    if given:
        yield given
        return
    server = start_local_redis()
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture
def redis(redis_url: str) -> Iterator[Redis]:
    connection = connect(redis_url)
    connection.flushdb()
    yield connection
    connection.close()


@pytest.fixture(scope="session")
def simulator_server():
    from executor.simulator import start_simulator

    server = start_simulator()
    yield server
    server.stop()


@pytest.fixture
def simulator(simulator_server):
    simulator_server.state.reset()
    return simulator_server


@pytest.fixture
def settings(redis_url: str, simulator) -> Settings:
    from executor.simulator import DEMO_COINW_API_KEY, DEMO_COINW_SECRET_KEY

    return Settings(
        redis_url=redis_url,
        webhook_secret=Secret(WEBHOOK_SECRET),
        admin_token=Secret(ADMIN_TOKEN),
        coinw=CoinWSettings(base_url=simulator.base_url, api_key=DEMO_COINW_API_KEY,
                            secret_key=Secret(DEMO_COINW_SECRET_KEY)),
        funding=NO_FUNDING,  # tests about funding windows set a schedule and a clock of their own
    )


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(datetime.now(timezone.utc).replace(microsecond=0))


@pytest.fixture
def app(settings: Settings, redis: Redis, clock: FixedClock):
    app = create_app(settings, clock=clock)
    app.config["TESTING"] = True
    return app


@pytest.fixture
def client(app):
    return app.test_client()


class BurstWorker(ExecutorWorker):
    """The product's worker without RQ's command channel: a burst run in a test takes no remote commands,
    and stopping the channel's thread can stall a run by a second."""

    def subscribe(self) -> None:
        pass

    def unsubscribe(self) -> None:
        pass


@pytest.fixture(params=["simple", "fork"])
def each_worker_mode(request, monkeypatch) -> str:
    """Run the test once per ``WORKER_MODE``: the worker processes it starts inherit the variable."""
    monkeypatch.setenv("WORKER_MODE", request.param)
    return request.param


@pytest.fixture
def run_jobs(settings: Settings, redis: Redis):
    """Run every queued job in this process, through the product's worker (RQ's own loop), and return."""
    runtime = Runtime(settings, redis=redis)
    install_runtime(runtime)

    def run() -> None:
        BurstWorker([make_queue(redis, settings)], connection=redis, serializer=JSONSerializer).work(burst=True)

    yield run
    install_runtime(None)


@pytest.fixture
def cli(monkeypatch, redis_url, capsys):
    """``executor ...`` in-process against the test Redis: (exit code, stdout, stderr)."""
    monkeypatch.setenv("REDIS_URL", redis_url)
    monkeypatch.delenv("QUEUE_NAME", raising=False)
    capsys.readouterr()

    def run(*argv: str) -> tuple[int, str, str]:
        code = cli_main(list(argv))
        out, err = capsys.readouterr()
        return code, out, err

    return run
