"""Every move of a job between the queue, RQ's registries and a lane is one step: no fault between two of
its round trips leaves a job stranded, run twice or lost.

Each move runs once uncut to count its commands; then once per cut: the connection dropped before each
command reaches Redis, and after Redis ran it (its answer lost), with the client giving up at once (the move
fails half way, as a process that died there would) and with the client sending again (the product's
clients do). Then housekeeping and a worker run until nothing moves, and every job must have ended exactly
once: performed once at the venue (the simulator counts), or failed with a reason, and nothing left queued,
scheduled, running or in a lane.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Callable

import pytest
from redis.exceptions import RedisError

from executor.alertqueue import make_queue
from executor.history import SUCCESS_OUTCOMES, current_run
from executor.jobview import fetch_job, status_word
from executor.lanes import Lanes
from executor.lanemoves import advance_lane, fail_waiting_behind
from executor.redis_client import WORKER_RETRIES, connect
from executor.replay import ReplayRefused, replay
from tests.coinw import open_position, send
from tests.redislink import RedisLink
from workers.maintenance import recover_abandoned_jobs, release_due_jobs, unstick_lanes
from workers.sweep import DEQUEUED_GRACE_SECONDS, DequeuedWatch, sweep_job_hashes

pytestmark = pytest.mark.e2e  # the resends depend on the Redis client's version

LANE = "coinw:-:BTC"
RETRIES = {"gives-up": 0, "sends-again": WORKER_RETRIES}


@dataclass
class Scene:
    """The jobs a scenario made, and what each must end as: ``finished`` (performed once) or ``failed``."""

    jobs: dict[str, str]
    expected: dict[str, str]


@pytest.fixture
def link(settings):
    relay = RedisLink(settings.redis_url)
    yield relay
    relay.close()


# --- the scenes: jobs in the state a move starts from -------------------------------------------------------

def three_on_a_lane(client, simulator) -> list[str]:
    open_position(simulator)
    return [send(client, id=name) for name in ("a", "b", "c")]


def as_rq_left(redis, queue, job_id: str, status: str, registry: str | None = None, score: float = 0.0,
               member: str | None = None) -> None:
    """The job off the queue with ``status``, in ``registry`` (or with a hold ``member`` in the started one)."""
    redis.lrem(queue.key, 0, job_id)
    redis.hset(f"rq:job:{job_id}", "status", status)
    if registry:
        redis.zadd(registry, {job_id: score})
    if member:
        redis.zadd(queue.started_job_registry.key, {member: score})


def scheduled_head(client, simulator, redis, queue) -> Scene:
    a, b, c = three_on_a_lane(client, simulator)
    as_rq_left(redis, queue, a, "scheduled", queue.scheduled_job_registry.key, time.time() - 1)
    return Scene({"a": a, "b": b, "c": c}, {a: "finished", b: "finished", c: "finished"})


def abandoned_head(client, simulator, redis, queue) -> Scene:
    a, b, c = three_on_a_lane(client, simulator)
    as_rq_left(redis, queue, a, "started", member=f"{a}:exec-dead", score=1)  # its hold lapsed long ago
    return Scene({"a": a, "b": b, "c": c}, {a: "finished", b: "finished", c: "finished"})


def finished_head(client, simulator, redis, queue) -> Scene:
    a, b, c = three_on_a_lane(client, simulator)
    as_rq_left(redis, queue, a, "finished", queue.finished_job_registry.key, time.time() + 600)
    return Scene({"a": a, "b": b, "c": c}, {b: "finished", c: "finished"})  # a never ran: it only leaves


def finished_head_damaged_next(client, simulator, redis, queue) -> Scene:
    a, b, c = three_on_a_lane(client, simulator)
    as_rq_left(redis, queue, a, "finished", queue.finished_job_registry.key, time.time() + 600)
    redis.hset(f"rq:job:{b}", "data", b"not zipped json")
    return Scene({"a": a, "b": b, "c": c}, {b: "failed", c: "failed"})


def failed_head(client, simulator, redis, queue) -> Scene:
    a, b, c = three_on_a_lane(client, simulator)
    as_rq_left(redis, queue, a, "failed", queue.failed_job_registry.key, time.time() + 600)
    return Scene({"a": a, "b": b, "c": c}, {a: "failed", b: "failed", c: "failed"})


def failed_job(client, simulator, redis, queue, run_jobs) -> Scene:
    a = send(client, id="a")  # no position yet: it fails, and is replayed once there is one
    run_jobs()
    open_position(simulator)
    return Scene({"a": a}, {a: "finished"})


def head_stranded_scheduled(client, simulator, redis, queue) -> Scene:
    """What the two-step release left when it failed half way: the head ``scheduled`` in no registry."""
    a, b, c = three_on_a_lane(client, simulator)
    as_rq_left(redis, queue, a, "scheduled")
    return Scene({"a": a, "b": b, "c": c}, {a: "finished", b: "finished", c: "finished"})


def taken_never_started(client, simulator, redis, queue) -> Scene:
    """A worker took the head off the queue (RQ's intermediate list) and died before starting it."""
    a, b, c = three_on_a_lane(client, simulator)
    redis.lmove(queue.key, queue.intermediate_queue_key)
    return Scene({"a": a, "b": b, "c": c}, {a: "finished", b: "finished", c: "finished"})


def waiting_in_no_lane(client, simulator, redis, queue) -> Scene:
    """What the two-step abandon left when it failed half way: jobs waiting in no lane behind a failed head."""
    a, b, c = three_on_a_lane(client, simulator)
    as_rq_left(redis, queue, a, "failed", queue.failed_job_registry.key, time.time() + 600)
    redis.delete(Lanes(queue).key(LANE))
    return Scene({"a": a, "b": b, "c": c}, {a: "failed", b: "failed", c: "failed"})


def returned_after_grace(queue) -> None:
    watch = DequeuedWatch()
    watch.return_stranded(queue, now=0.0)
    watch.return_stranded(queue, now=DEQUEUED_GRACE_SECONDS)


#: A move and the scene it starts from. The repairs start from a stranded job; every other move must leave
#: each job somewhere at every cut, before anything repairs it.
MOVES: dict[str, tuple[Callable, Callable]] = {
    "release a due job": (scheduled_head, lambda queue, scene: release_due_jobs(queue)),
    "recover an abandoned job": (abandoned_head, lambda queue, scene: recover_abandoned_jobs(queue)),
    "advance a lane": (finished_head, lambda queue, scene: advance_lane(queue, LANE, scene.jobs["a"])),
    "advance past a damaged job": (finished_head_damaged_next, lambda queue, scene: advance_lane(
        queue, LANE, scene.jobs["a"])),
    "fail the jobs behind a failed head": (failed_head, lambda queue, scene: fail_waiting_behind(
        queue, LANE, scene.jobs["a"], "")),
    "replay a failed job": (failed_job, lambda queue, scene: replay_as_an_operator(queue, scene.jobs["a"])),
    # the repairs
    "repair a head found in no registry": (head_stranded_scheduled, lambda queue, scene: unstick_lanes(queue)),
    "return a job taken but never started": (taken_never_started, lambda queue, scene: returned_after_grace(queue)),
    "sweep a job waiting in no lane": (waiting_in_no_lane, lambda queue, scene: sweep_job_hashes(queue)),
}


REPAIRS = {"repair a head found in no registry", "return a job taken but never started",
           "sweep a job waiting in no lane"}


def replay_as_an_operator(queue, job_id: str) -> None:
    replay(queue, job_id, origin="cli:test@host", now=datetime.now(timezone.utc))


# --- running a move under a cut, then letting the product settle ---------------------------------------------

def settle(queue, run_jobs, rounds: int = 6) -> None:
    """Housekeeping and a worker, with every grace period over, until nothing is left to do."""
    later = time.time() + 3600
    for _ in range(rounds):
        release_due_jobs(queue, now=later)
        recover_abandoned_jobs(queue, now=later)
        unstick_lanes(queue, now=later)
        returned_after_grace(queue)
        sweep_job_hashes(queue)
        run_jobs()
        if quiet(queue):
            return


def quiet(queue) -> bool:
    redis = queue.connection
    return (queue.count == 0 and redis.llen(queue.intermediate_queue_key) == 0
            and queue.started_job_registry.count == 0 and queue.scheduled_job_registry.count == 0
            and all(Lanes(queue).head(lane) is None for lane in Lanes(queue).known_lanes()))


def stranded(queue, scene: Scene) -> list[str]:
    """The scene's jobs that are in no place their status says they should be in (judged here, independently
    of the product's own repair script): what a move that is not one step leaves behind when it is cut."""
    redis = queue.connection
    running = {member.decode().split(":")[0] for member in redis.zrange(queue.started_job_registry.key, 0, -1)}
    lane = Lanes(queue).waiting(LANE)
    places = {
        "queued": lambda job_id: job_id in queue.get_job_ids() or job_id in running
        or job_id.encode() in redis.lrange(queue.intermediate_queue_key, 0, -1),
        "scheduled": lambda job_id: job_id in queue.scheduled_job_registry.get_job_ids(cleanup=False),
        "started": lambda job_id: job_id in running,
        "deferred": lambda job_id: job_id in lane,
        "finished": lambda job_id: job_id in queue.finished_job_registry.get_job_ids(cleanup=False),
        "failed": lambda job_id: job_id in queue.failed_job_registry.get_job_ids(cleanup=False),
    }
    found = []
    for job_id in scene.jobs.values():
        status = (redis.hget(f"rq:job:{job_id}", "status") or b"gone").decode()
        if status not in places or not places[status](job_id):
            found.append(f"job {job_id} is {status} in no place for it")
    if lane and status_of(redis, lane[0]) == "deferred" and lane[0] not in queue.get_job_ids():
        found.append(f"lane head {lane[0]} is waiting, not queued")
    return found


def status_of(redis, job_id: str) -> str:
    return (redis.hget(f"rq:job:{job_id}", "status") or b"gone").decode()


def ended_once(queue, simulator, scene: Scene) -> list[str]:
    """What is wrong with how the scene's jobs ended (nothing, when each ended exactly once as expected)."""
    problems = []
    if not quiet(queue):
        problems.append(f"not settled: queue {queue.get_job_ids()}, started {queue.started_job_registry.count}, "
                        f"scheduled {queue.scheduled_job_registry.get_job_ids()}")
    performed = 0
    for job_id, expected in scene.expected.items():
        job = fetch_job(queue.connection, job_id) if expected == "finished" else None
        status = status_word(job) if job is not None else queue.connection.hget(f"rq:job:{job_id}", "status")
        status = status.decode() if isinstance(status, bytes) else status
        if status != expected:
            problems.append(f"job {job_id} is {status}, expected {expected}")
        if expected == "finished" and job is not None:
            successes = [a for a in current_run(job) if a.get("outcome") in SUCCESS_OUTCOMES]
            performed += len(successes)
            if len(successes) != 1:
                problems.append(f"job {job_id} succeeded {len(successes)} times: {current_run(job)}")
        if expected == "failed" and job_id not in queue.failed_job_registry.get_job_ids(cleanup=False):
            problems.append(f"job {job_id} is not in the failed registry")
    orders = len(simulator.state.orders("coinw"))
    if orders != performed or performed != list(scene.expected.values()).count("finished"):
        problems.append(f"{orders} orders at the venue for {performed} recorded successes")
    return problems


def run_scene(name: str, cut: tuple[str, int] | None, retries: int, *, redis, link, settings, client, simulator,
              run_jobs) -> tuple[int, list[str]]:
    """Build the scene, run the move through ``link`` (cut at ``cut``), settle; (commands counted, problems)."""
    redis.flushdb()
    simulator.state.reset()
    build, move = MOVES[name]
    queue = make_queue(redis, settings)
    scene = build(client, simulator, redis, queue, run_jobs) if build is failed_job else build(
        client, simulator, redis, queue)
    through = connect(link.url, retries=retries)
    if cut:
        link.cut_at(cut[1], cut[0])
    else:
        link.count_from_now()
    try:
        move(make_queue(through, settings), scene)
    except (RedisError, ReplayRefused):
        pass
    finally:
        through.close()
    counted = len(link.commands)
    if cut and not link.fired:
        return counted, [f"the cut {cut} never happened ({counted} commands)"]
    link.count_from_now()
    left = [] if name in REPAIRS else stranded(queue, scene)
    if left:
        return counted, [f"left by the cut: {problem}" for problem in left]
    if build is failed_job:  # the operator saw an error or a refusal: they replay again (refused if it took)
        try:
            replay_as_an_operator(queue, scene.jobs["a"])
        except ReplayRefused:
            pass
    settle(queue, run_jobs)
    return counted, ended_once(queue, simulator, scene)


@pytest.mark.parametrize("retries", RETRIES.values(), ids=RETRIES.keys())
@pytest.mark.parametrize("name", MOVES)
def test_a_move_cut_before_or_after_any_of_its_commands_ends_every_job_exactly_once(
        name, retries, redis, link, settings, client, simulator, run_jobs):
    scene = dict(redis=redis, link=link, settings=settings, client=client, simulator=simulator, run_jobs=run_jobs)
    run_scene(name, None, retries, **scene)  # loads the move's scripts, so the count below is the steady one
    commands, problems = run_scene(name, None, retries, **scene)
    assert not problems, problems
    assert commands >= 1
    failures = {}
    for number in range(1, commands + 1):
        for when in ("before", "after"):
            _, problems = run_scene(name, (when, number), retries, **scene)
            if problems:
                failures[f"{when} command {number}"] = problems
    print(f"\n{name} ({'sends again' if retries else 'gives up'}): {commands} commands, {2 * commands} cuts, "
          f"{len(failures)} with a job lost, doubled or stuck")
    assert not failures, failures
