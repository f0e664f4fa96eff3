"""The shared rate limiter: declared limits, strict windows across processes, penalties, backoff.

Every test runs against a real Redis. Times granted are Redis's own clock (the
script's ``TIME``), which is the clock the strictness guarantee is stated in.
"""
from __future__ import annotations

import multiprocessing
import threading
import time
from typing import Callable

import pytest
from redis import Redis

from config.ratelimits import CROSSTRADE_POOL, ENDPOINT_LIMITS, RateLimit, limits_for, pool_for
from config.settings import SettingsError
from executor.errors import RetryLater
from executor.ratelimit import RateLimiter, RateLimitWait, SafetyMargin, backoff, credential_tag
from executor.redis_client import connect

CREDENTIAL = "apikey-SUPERSECRET-7f3a9c"
TEST_MARGIN = SafetyMargin(minimum=0.005, fraction=0.02)
"""A 5 ms margin, so a 0.2 s period can show >= 90% utilisation in a short test."""

HAMMER_LIMIT = RateLimit("hammer", 5, 0.2)
HAMMER_SECONDS = 1.5
HAMMER_PROCESSES = 4


class RecordingLimiter(RateLimiter):
    """A limiter that notes Redis's clock at every grant, so a test can check the windows."""

    def __init__(self, redis: Redis, **kwargs) -> None:
        super().__init__(redis, **kwargs)
        self.granted: list[float] = []

    def try_acquire(self, venue, credential, limits, *, fence=None, write=None) -> float:
        attempt = self.attempt(venue, credential, limits, fence=fence, write=write)
        if attempt.granted:
            self.granted.append(attempt.redis_time)
        return attempt.wait


def max_in_window(times: list[float], period: float) -> int:
    """The most grants inside any half-open window ``(t - period, t]``."""
    ordered = sorted(times)
    best, start = 0, 0
    for end, moment in enumerate(ordered):
        while ordered[start] <= moment - period:
            start += 1
        best = max(best, end - start + 1)
    return best


def _hammer(redis_url: str, barrier, results) -> None:
    """Child process: take slots as fast as the limiter allows for HAMMER_SECONDS.

    A wait longer than ``max_wait`` (a process can lose several races in a row) is
    what a job would reschedule on; here the process simply asks again.
    """
    limiter = RecordingLimiter(connect(redis_url), margin=TEST_MARGIN)
    try:
        barrier.wait(timeout=30)
        deadline = time.monotonic() + HAMMER_SECONDS
        while time.monotonic() < deadline:
            try:
                limiter.acquire("coinw", CREDENTIAL, (HAMMER_LIMIT,), max_wait=0.5)
            except RateLimitWait:
                continue
        results.put(limiter.granted)
    except BaseException as exc:
        results.put(repr(exc))
        raise


# --- declared data -------------------------------------------------------------------------------

@pytest.mark.parametrize("venue, endpoint, limit", [
    ("coinw", "positions", 10), ("coinw", "reverse", 5), ("coinw", "close", 30), ("coinw", "close_all", 5),
    ("bitget", "reverse", 10), ("bitget", "close_positions", 1), ("bitget", "position", 10),
    ("bitget", "place_order", 10), ("bitget", "order_detail", 10), ("bitget", "server_time", 20),
])
def test_each_documented_endpoint_limit_is_declared_per_second_with_its_pool(venue, endpoint, limit):
    declared = limits_for(venue, endpoint, env={})
    assert declared[0] == RateLimit(endpoint, limit, 1.0)
    assert declared[1:] == pool_for(venue, env={})


def test_default_pools_are_30_for_coinw_20_for_bitget_and_180_a_minute_burst_20_for_crosstrade():
    assert pool_for("coinw", env={}) == (RateLimit("pool", 30, 1.0),)
    assert pool_for("bitget", env={}) == (RateLimit("pool", 20, 1.0),)
    assert CROSSTRADE_POOL == (RateLimit("pool", 180, 60.0), RateLimit("pool_burst", 20, 1.0))
    for endpoint in ("reverse", "close", "position"):
        assert limits_for("crosstrade", endpoint, env={}) == CROSSTRADE_POOL


def test_pool_limits_are_overridden_from_the_environment():
    assert limits_for("coinw", "close", env={"COINW_POOL_LIMIT": " 12 "})[-1] == RateLimit("pool", 12, 1.0)
    assert limits_for("bitget", "position", env={"BITGET_POOL_LIMIT": "7"})[-1] == RateLimit("pool", 7, 1.0)


@pytest.mark.parametrize("variable", ["COINW_POOL_LIMIT", "BITGET_POOL_LIMIT"])
@pytest.mark.parametrize("value", ["abc", "0", "-3", "2.5"])
def test_a_bad_pool_override_raises_a_settings_error_naming_the_variable(variable, value):
    venue = variable.split("_")[0].lower()
    with pytest.raises(SettingsError, match=variable):
        limits_for(venue, "anything", env={variable: value})


def test_an_undeclared_endpoint_is_charged_to_the_pool_only_and_an_unknown_venue_is_an_error():
    assert limits_for("coinw", "not-an-endpoint", env={}) == pool_for("coinw", env={})
    with pytest.raises(KeyError):
        limits_for("nowhere", "reverse", env={})


def test_window_names_are_unique_within_every_declared_request():
    for venue, endpoints in ENDPOINT_LIMITS.items():
        for endpoint in endpoints:
            names = [limit.name for limit in limits_for(venue, endpoint, env={})]
            assert len(names) == len(set(names)), (venue, endpoint)


def test_default_margin_keeps_every_declared_limit_above_90_percent_of_its_rate():
    margin = SafetyMargin()
    for venue, endpoints in ENDPOINT_LIMITS.items():
        for limit in (lim for endpoint in endpoints for lim in limits_for(venue, endpoint, env={})):
            assert limit.period / margin.window(limit.period) >= 0.9, (venue, limit)


# --- strictness across processes -----------------------------------------------------------------

@pytest.mark.slow
def test_four_processes_never_exceed_the_window_and_use_at_least_90_percent_of_it(redis_url, redis):
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(HAMMER_PROCESSES)
    results = context.Queue()
    workers = [context.Process(target=_hammer, args=(redis_url, barrier, results), daemon=True)
               for _ in range(HAMMER_PROCESSES)]
    for worker in workers:
        worker.start()
    try:
        answers = [results.get(timeout=40) for _ in workers]
    finally:
        for worker in workers:
            worker.join(timeout=5)
            if worker.is_alive():
                worker.terminate()
    assert all(isinstance(answer, list) for answer in answers), answers
    granted = [moment for answer in answers for moment in answer]
    limit, period = HAMMER_LIMIT.limit, HAMMER_LIMIT.period
    assert max_in_window(granted, period) <= limit
    assert max_in_window(granted, period + TEST_MARGIN.for_period(period)) <= limit
    granted.sort()
    span = granted[-1] - granted[0]
    assert len(granted) >= 0.9 * limit * span / period
    steps = [granted[i + limit] - granted[i] for i in range(len(granted) - limit)]
    backlog_rate = limit / (sum(steps) / len(steps))  # each slot is reused after one window: the sustained rate
    print(f"hammer: {len(granted)} grants in {span:.3f} s, sustained {backlog_rate * period / limit:.1%} of the limit")
    assert backlog_rate >= 0.9 * limit / period


def test_endpoint_and_pool_are_charged_together_so_the_pool_caps_both_endpoints(redis):
    pool = RateLimit("pool", 3, 0.2)
    endpoints = {"a": RateLimit("a", 5, 0.2), "b": RateLimit("b", 5, 0.2)}
    granted: dict[str, list[float]] = {"a": [], "b": []}

    def run(name: str) -> None:
        limiter = RecordingLimiter(redis, margin=TEST_MARGIN)
        deadline = time.monotonic() + 0.8
        while time.monotonic() < deadline:
            try:
                limiter.acquire("bitget", CREDENTIAL, (endpoints[name], pool), max_wait=0.5)
            except RateLimitWait:  # lost several races in a row: a job would reschedule
                continue
        granted[name].extend(limiter.granted)

    threads = [threading.Thread(target=run, args=(name,)) for name in ("a", "b", "a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    both = granted["a"] + granted["b"]
    assert granted["a"] and granted["b"]
    assert max_in_window(both, pool.period) <= pool.limit
    assert max_in_window(granted["a"], pool.period) <= endpoints["a"].limit


def test_a_refused_request_charges_no_window(redis):
    limiter = RateLimiter(redis)
    pool = RateLimit("pool", 3, 10.0)
    endpoint_a, endpoint_b = RateLimit("a", 5, 10.0), RateLimit("b", 5, 10.0)
    for endpoint in (endpoint_a, endpoint_b, endpoint_a):
        assert limiter.try_acquire("bitget", CREDENTIAL, (endpoint, pool)) == 0
    before = _window_sizes(redis)
    wait = limiter.try_acquire("bitget", CREDENTIAL, (endpoint_b, pool))
    assert 9.9 < wait <= 10.0 + SafetyMargin().for_period(10.0)
    assert _window_sizes(redis) == before == {"a": 2, "b": 1, "pool": 3}


def test_two_windows_with_one_name_in_one_request_are_refused(redis):
    with pytest.raises(ValueError, match="names must differ"):
        RateLimiter(redis).try_acquire("coinw", CREDENTIAL, (RateLimit("x", 1, 1.0), RateLimit("x", 2, 1.0)))


def _window_sizes(redis: Redis) -> dict[str, int]:
    return {key.decode().rsplit(":", 1)[-1]: redis.zcard(key) for key in redis.scan_iter("executor:rl:*:w:*")}


# --- waiting, rescheduling, penalties -------------------------------------------------------------

def test_a_short_wait_is_slept_through_with_the_injected_sleep(redis):
    limiter = RateLimiter(redis)
    limit = RateLimit("once", 1, 0.1)
    sleeps: list[float] = []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        time.sleep(seconds)

    assert limiter.acquire("coinw", CREDENTIAL, (limit,), max_wait=1.0, sleep=sleep) == 0
    waited = limiter.acquire("coinw", CREDENTIAL, (limit,), max_wait=1.0, sleep=sleep)
    assert sleeps and waited == pytest.approx(sum(sleeps))
    assert 0.1 < waited <= 0.2


def test_a_long_wait_raises_rate_limit_wait_with_the_time_until_a_slot_frees(redis):
    limiter = RateLimiter(redis)
    limit = RateLimit("slow", 1, 10.0)
    sleeps: list[float] = []
    limiter.acquire("coinw", CREDENTIAL, (limit,), max_wait=1.0, sleep=sleeps.append)
    with pytest.raises(RateLimitWait) as raised:
        limiter.acquire("coinw", CREDENTIAL, (limit,), max_wait=1.0, sleep=sleeps.append)
    error = raised.value
    assert sleeps == []
    assert isinstance(error, RetryLater) and error.reason == "rate_limit"
    assert error.venue is None and error.code is None and CREDENTIAL not in str(error)
    assert 10.0 < error.retry_after <= limiter.window_seconds(limit) + 0.01  # 10 s + 2% margin + jitter


def test_waiting_never_exceeds_max_wait_even_when_sleep_returns_early(redis):
    limiter = RateLimiter(redis)
    limit = RateLimit("once", 1, 0.3)
    sleeps: list[float] = []
    limiter.acquire("coinw", CREDENTIAL, (limit,), max_wait=1.0)
    with pytest.raises(RateLimitWait):
        limiter.acquire("coinw", CREDENTIAL, (limit,), max_wait=1.0, sleep=sleeps.append)
    assert sleeps and sum(sleeps) <= 1.0


def test_penalise_blocks_the_venue_for_that_credential_only_in_every_limiter(redis, redis_url):
    limits = limits_for("coinw", "positions", env={})
    RateLimiter(redis).penalise("coinw", CREDENTIAL, 0.5)
    other_process = RateLimiter(connect(redis_url))
    assert 0.4 < other_process.try_acquire("coinw", CREDENTIAL, limits) <= 0.5
    assert other_process.try_acquire("coinw", "another-key", limits) == 0
    assert other_process.try_acquire("bitget", CREDENTIAL, limits_for("bitget", "position", env={})) == 0


def test_a_shorter_penalty_never_shortens_a_longer_one(redis):
    limiter = RateLimiter(redis)
    limiter.penalise("coinw", CREDENTIAL, 30)
    assert 29 < limiter.penalise("coinw", CREDENTIAL, 1) <= 30
    with pytest.raises(RateLimitWait) as raised:
        limiter.acquire("coinw", CREDENTIAL, pool_for("coinw", env={}), max_wait=5.0, sleep=lambda s: None)
    assert 29 < raised.value.retry_after <= 30.01


def test_the_script_is_reloaded_after_redis_forgets_it(redis):
    limiter = RateLimiter(redis)
    redis.script_flush()
    assert limiter.try_acquire("coinw", CREDENTIAL, (RateLimit("x", 1, 1.0),)) == 0


def test_the_raw_credential_never_appears_in_a_redis_key_or_value(redis):
    limiter = RateLimiter(redis)
    limiter.try_acquire("crosstrade", CREDENTIAL, limits_for("crosstrade", "reverse", env={}))
    limiter.penalise("crosstrade", CREDENTIAL, 5)
    keys = [key.decode() for key in redis.scan_iter("*")]
    assert len(keys) == 3 and all(credential_tag(CREDENTIAL) in key for key in keys)
    assert all("SUPERSECRET" not in key for key in keys)
    members = [m.decode() for key in keys if redis.type(key) == b"zset" for m in redis.zrange(key, 0, -1)]
    assert members and all("SUPERSECRET" not in member for member in members)


def test_window_keys_expire_once_idle(redis):
    RateLimiter(redis).try_acquire("coinw", CREDENTIAL, (RateLimit("x", 1, 1.0),))
    ttls = [redis.pttl(key) for key in redis.scan_iter("executor:rl:*")]
    assert ttls and all(0 < ttl <= 1050 + 1000 for ttl in ttls)


# --- backoff -------------------------------------------------------------------------------------

def test_backoff_grows_exponentially_with_equal_jitter_and_stops_at_the_cap():
    low: Callable[[], float] = lambda: 0.0
    high: Callable[[], float] = lambda: 0.999999
    assert [backoff(n, rng=low) for n in range(4)] == [0.5, 1.0, 2.0, 4.0]
    assert backoff(3, rng=high) == pytest.approx(8.0, abs=1e-4)
    assert backoff(50, rng=high) <= 60.0 and backoff(10_000, rng=low) == 30.0


def test_backoff_with_full_jitter_may_be_zero_and_rejects_a_negative_attempt():
    assert backoff(5, rng=lambda: 0.0, jitter="full") == 0.0
    assert backoff(5, base=0.5, rng=lambda: 0.5, jitter="full") == 8.0
    with pytest.raises(ValueError):
        backoff(-1)
