"""At start, the web and the worker read Redis's eviction policy and persistence and warn, one line each, when
either can lose accepted alerts; a Redis that refuses CONFIG is said so once, and the process goes on."""
from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path

import pytest

from config.secrets import Secret
from config.settings import Settings
from executor.app import create_app
from executor.redis_client import connect, settings_warnings, warn_about_settings
from tests.conftest import WEBHOOK_SECRET
from tests.processes import worker_environment
from tests.redisserver import DURABLE, RedisServer

EVICTS = "maxmemory-policy is allkeys-lru"
NOTHING = "persists nothing"
REFUSES = "refuses CONFIG GET"
SAFE = {"maxmemory-policy": "noeviction", "appendonly": "yes", "appendfsync": "everysec", "save": ""}


def test_noeviction_with_an_append_only_file_deserves_no_warning():
    assert settings_warnings(SAFE, "web") == []
    assert settings_warnings({**SAFE, "appendfsync": "always", "save": "3600 1"}, "web") == []


def test_each_setting_that_can_lose_alerts_is_named_in_one_line_of_its_own():
    (evicting,) = settings_warnings({**SAFE, "maxmemory-policy": "volatile-lru"}, "worker")
    assert evicting.startswith("worker: Redis maxmemory-policy is volatile-lru") and "noeviction" in evicting
    (nothing,) = settings_warnings({**SAFE, "appendonly": "no"}, "web")
    assert NOTHING in nothing and "appendonly yes" in nothing
    (snapshots,) = settings_warnings({**SAFE, "appendonly": "no", "save": "3600 1 300 100"}, "web")
    assert "only snapshots (save 3600 1 300 100" in snapshots
    (fsync,) = settings_warnings({**SAFE, "appendfsync": "no"}, "web")
    assert "appendfsync is no" in fsync
    both = settings_warnings({"maxmemory-policy": "allkeys-lru", "appendonly": "no", "save": ""}, "web")
    assert len(both) == 2 and EVICTS in both[0] and NOTHING in both[1]


@pytest.fixture
def evicting_redis(tmp_path):
    with RedisServer(tmp_path, "--maxmemory-policy", "allkeys-lru", "--appendonly", "no", "--save", "") as server:
        yield server


@pytest.mark.slow
def test_a_real_redis_is_read_for_its_settings(tmp_path, evicting_redis):
    lines = warn_about_settings(connect(evicting_redis.url), "web")
    assert len(lines) == 2 and EVICTS in lines[0] and NOTHING in lines[1]
    durable = tmp_path / "durable"
    durable.mkdir()
    with RedisServer(durable, *DURABLE) as server:
        assert warn_about_settings(connect(server.url), "web") == []


@pytest.mark.slow
def test_a_redis_that_refuses_config_is_said_so_once_and_the_web_starts(tmp_path, caplog):
    with RedisServer(tmp_path, "--rename-command", "CONFIG", "") as server:
        with caplog.at_level(logging.WARNING, logger="executor.redis_client"):
            app = create_app(Settings(redis_url=server.url, webhook_secret=Secret(WEBHOOK_SECRET)))
        assert app.test_client().get("/healthz").status_code == 200
    said = [record.getMessage() for record in caplog.records if record.name == "executor.redis_client"]
    assert len(said) == 1 and said[0].startswith(f"web: Redis {REFUSES}"), said


@pytest.mark.slow
def test_the_web_and_the_worker_warn_at_start_one_line_each(evicting_redis, simulator, caplog):
    with caplog.at_level(logging.WARNING, logger="executor.redis_client"):
        create_app(Settings(redis_url=evicting_redis.url, webhook_secret=Secret(WEBHOOK_SECRET)))
    said = [record.getMessage() for record in caplog.records if record.name == "executor.redis_client"]
    assert [EVICTS in said[0], NOTHING in said[1], len(said)] == [True, True, 2], said
    worker = subprocess.run([sys.executable, "-m", "executor", "worker", "--burst"], cwd=Path(__file__).parent.parent,
                            env=worker_environment(evicting_redis.url, simulator.base_url), capture_output=True,
                            text=True, timeout=30)
    assert worker.returncode == 0, worker.stderr
    lines = (worker.stdout + worker.stderr).splitlines()
    assert len([line for line in lines if f"worker: Redis {EVICTS}" in line]) == 1, lines
    assert len([line for line in lines if NOTHING in line]) == 1, lines
