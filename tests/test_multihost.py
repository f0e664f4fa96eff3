"""Three worker hosts sharing one Redis, each in a network namespace of its own, Redis and the venue on a fourth.

A backlog on one CoinW key and several instruments: the venue never sees more than a limit in any sliding
window, each instrument's jobs are performed in the order their alerts arrived, and a host cut off the
network while its reversal is in flight leaves that job to another host, which finishes it exactly once
within the hold's lapse (10 s after the last heartbeat; housekeeping looks every 2 s).
"""
from __future__ import annotations

import dataclasses
import json
import os
import sys
import time
from collections import defaultdict
from types import SimpleNamespace
from typing import Iterator

import pytest
import requests

from config.ratelimits import COINW_POOL_DEFAULT
from executor.app import create_app
from executor.jobview import fetch_job, status_word
from executor.localredis import redis_server_binary
from executor.redis_client import connect
from tests.coinw import REVERSE, add_fault, open_position, send
from tests.netns import Lab, unavailable_reason
from tests.processes import stop_all, wait_until, worker_environment

pytestmark = pytest.mark.slow

WORKER_HOSTS = ("h1", "h2", "h3")
INSTRUMENTS = ("L0", "L1", "L2", "L3", "L4")
JOBS_PER_INSTRUMENT = 6
REDIS_PORT, SIMULATOR_PORT = 6379, 8900
POSITIONS = "/v1/perpum/positions"
#: The hold lapses 10 s after the last heartbeat (beats every 3 s, so at most 10 s after the cut);
#: housekeeping looks every 2 s; then the job is queued, taken and reconciled with one read.
RECOVERY_BOUND_S = 10 + 2 + 3


@dataclasses.dataclass(frozen=True)
class Site:
    """The hosts, and the addresses of the Redis and the venue simulator they share (on the host "venue")."""

    lab: Lab
    redis_url: str
    simulator_url: str


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Iterator[Site]:
    reason = unavailable_reason()
    if reason is not None:
        pytest.skip(f"network namespaces are not allowed here: {reason}")
    with Lab(["venue", *WORKER_HOSTS], tmp_path_factory.mktemp("hosts")) as lab:
        yield start_redis_and_simulator(lab)


def start_redis_and_simulator(lab: Lab) -> Site:
    address = lab.hosts["venue"].address
    site = Site(lab, f"redis://{address}:{REDIS_PORT}/0", f"http://{address}:{SIMULATOR_PORT}")
    lab.start("venue", [redis_server_binary(), "--bind", address, "--port", str(REDIS_PORT), "--save", "",
                        "--appendonly", "no", "--protected-mode", "no", "--dir", str(lab.directory)],
              env={}, log_name="redis")
    lab.start("venue", [sys.executable, "-m", "executor", "simulate", "--host", address, "--port",
                        str(SIMULATOR_PORT), "--no-demo"], env=dict(os.environ), log_name="simulator")
    assert wait_until(lambda: answers(lambda: connect(site.redis_url).ping()), timeout=15), lab.logs()
    assert wait_until(lambda: answers(lambda: requests.get(f"{site.simulator_url}/_sim/health", timeout=1).ok),
                      timeout=20), lab.logs()
    return site


def answers(probe) -> bool:
    try:
        return bool(probe())
    except Exception:  # not up yet: refused, reset or timed out
        return False


def test_three_worker_hosts_keep_the_limits_and_the_order_and_finish_a_cut_off_hosts_job_once(
        site, settings, each_worker_mode):
    lab, redis, venue = site.lab, connect(site.redis_url), SimpleNamespace(base_url=site.simulator_url)
    redis.flushdb()
    requests.post(f"{venue.base_url}/_sim/reset", timeout=5).raise_for_status()
    tuned = dataclasses.replace(settings, redis_url=site.redis_url,
                                coinw=dataclasses.replace(settings.coinw, base_url=site.simulator_url))
    client = create_app(tuned).test_client()
    instrument_of = {open_position(venue, size="1", instrument=name)["id"]: name for name in INSTRUMENTS}
    lanes: dict[str, list[str]] = defaultdict(list)
    for number in range(JOBS_PER_INSTRUMENT):  # the backlog, interleaved, before any worker runs
        for name in INSTRUMENTS:
            lanes[name].append(send(client, symbol=name, id=f"{name}-{each_worker_mode}-{number}"))
    every_job = [job_id for lane in lanes.values() for job_id in lane]
    # The first reversal to arrive is performed at once; its answer is held long past the cut.
    add_fault(venue, path=REVERSE, kind="latency", latency_ms=30_000, when="after")

    env = worker_environment(site.redis_url, site.simulator_url)
    workers = [lab.start(host, [sys.executable, "-m", "executor", "worker", "--name",
                                f"{host}-{each_worker_mode}-{time.time_ns()}"], env, f"{host}-{each_worker_mode}")
               for host in WORKER_HOSTS]
    try:
        held = wait_for_held_reversal(venue, lab)
        held_job = lanes[instrument_of[held["position_id"]]][0]  # the fault met the first reversal: a lane's head
        holder = host_of(fetch_job(redis, held_job).worker_name)
        lab.cut(holder)
        cut_at = time.time()
        assert wait_until(lambda: all(status_word(fetch_job(redis, job_id)) in ("finished", "failed")
                                      for job_id in every_job), timeout=60), lab.logs()
        finished = fetch_job(redis, held_job)
        recovered_in = finished.ended_at.timestamp() - cut_at
        lab.reconnect(holder)
        # Back on the network, the cut-off host ends its attempt (the answer never came) and acts no more.
        assert wait_until(lambda: "ended_at" in fetch_job(redis, held_job).meta["attempts"][0], timeout=20), \
            lab.logs()
    finally:
        for host in WORKER_HOSTS:
            lab.reconnect(host)
        stop_all(workers, timeout=10)  # a worker still stuck is killed (the lab removes everything anyway)

    log = venue_log(venue)
    assert [status_word(fetch_job(redis, job_id)) for job_id in every_job] == ["finished"] * len(every_job)
    assert_no_limit_exceeded_in_any_window(venue, log)
    assert_each_lane_performed_in_arrival_order(redis, venue, lanes)
    # Done exactly once, by another host, within the lapse: one reversal of that position on the venue.
    reversals = [entry for entry in log if entry["path"] == REVERSE]
    assert len(reversals) == len(every_job)
    assert [entry["seq"] for entry in reversals if json.loads(entry["body"])["id"] == held["position_id"]] == [
        held["entry"]["seq"]]
    final = fetch_job(redis, held_job)
    assert status_word(final) == "finished" and host_of(final.worker_name) == host_of(finished.worker_name) != holder
    stale, *later = final.meta["attempts"]
    assert stale["outcome"] in ("deferred", "left to another worker") and "order_id" not in stale, stale
    assert later[-1]["outcome"] == "found already done on the venue", later
    assert not any(attempt.get("outcome") == "sent" for attempt in later), later  # nothing sent again
    assert recovered_in <= RECOVERY_BOUND_S, f"recovered {recovered_in:.1f} s after the cut"


def wait_for_held_reversal(venue, lab: Lab) -> dict:
    """The reversal the latency fault holds: its log entry and the position it reverses."""
    found: list[dict] = []

    def held() -> bool:
        found[:] = [entry for entry in venue_log(venue) if entry["path"] == REVERSE and entry["fault"]]
        return bool(found)

    assert wait_until(held, timeout=30, interval=0.02), lab.logs()
    entry = found[0]
    return {"entry": entry, "position_id": json.loads(entry["body"])["id"]}


def host_of(worker_name: str | None) -> str:
    return (worker_name or "?").split("-")[0]


def venue_log(venue) -> list[dict]:
    return requests.get(f"{venue.base_url}/_sim/requests", params={"venue": "coinw"}, timeout=5).json()["requests"]


def assert_no_limit_exceeded_in_any_window(venue, log: list[dict]) -> None:
    """Every window (t - period, t] ending at an arrival, for each limited endpoint and the key's pool."""
    stats = requests.get(f"{venue.base_url}/_sim/stats", params={"venue": "coinw"}, timeout=5).json()
    assert not any(entry["rate_limited"] for entry in log)
    used = [entry for entry in log if entry["counted"] and not entry["rate_limited"]]
    limits = {key: (window["limit"], window["period_s"]) for key, window in stats["max_in_window"].items()}
    limits["pool"] = (COINW_POOL_DEFAULT, 1.0)
    assert {f"GET {POSITIONS}", f"POST {REVERSE}"} <= set(limits)
    for key, (limit, period) in limits.items():
        arrivals = sorted(entry["received_at"] for entry in used
                          if key == "pool" or f"{entry['method']} {entry['path']}" == key)
        busiest = max((sum(1 for t in arrivals if end - period < t <= end) for end in arrivals), default=0)
        assert busiest <= limit, f"{key}: {busiest} requests in one {period} s window (limit {limit})"
        assert not stats["max_in_window"].get(key, {}).get("exceeded"), stats["max_in_window"]
    reversals = sorted(entry["received_at"] for entry in used if entry["path"] == REVERSE)
    assert max(sum(1 for t in reversals if end - 1 < t <= end) for end in reversals) == 5  # the limit was reached


def assert_each_lane_performed_in_arrival_order(redis, venue, lanes: dict[str, list[str]]) -> None:
    """On the venue, each instrument's reversals form one chain (each acts on the position the previous one
    opened), acting on the positions the lane's jobs recorded in arrival order; each job finished before
    the next one of its lane started."""
    orders = requests.get(f"{venue.base_url}/_sim/orders", params={"venue": "coinw"}, timeout=5).json()["orders"]
    for name, lane in lanes.items():
        chain = sorted((order for order in orders if order["instrument"] == name), key=lambda order: order["time"])
        assert len(chain) == len(lane), f"{name}: {len(chain)} reversals for {len(lane)} jobs"
        for before, after in zip(chain, chain[1:]):
            assert before["position_ids"][1] == after["position_ids"][0], f"{name}: chain broken"
        jobs = [fetch_job(redis, job_id) for job_id in lane]
        acted_on = []
        for job in jobs:
            seen = {str(attempt["notes"]["position_before"]["position_id"]) for attempt in job.meta["attempts"]
                    if "position_before" in attempt.get("notes", {})}
            assert len(seen) == 1, f"{job.id} saw positions {seen}"
            acted_on.append(seen.pop())
        assert acted_on == [str(order["position_ids"][0]) for order in chain], name
        for before, after in zip(jobs, jobs[1:]):
            done = [attempt for attempt in before.meta["attempts"]
                    if attempt.get("outcome") in ("sent", "found already done on the venue")]
            assert done and done[-1]["ended_at"] <= after.meta["attempts"][0]["started_at"], (before.id, after.id)
