"""A retry of one job never acts twice: the same clientOid, a duplicate found and reported as done."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pytest

from executor.domain import Alert
from executor.alertqueue import make_queue
from executor.queueing import put_on_queue
from executor.venues import get_venue
from executor.venues.bitget import orders
from executor.history import FOUND_DONE
from executor.venues.transport import Transport
from tests.bitget.helpers import BACKHAND, CLOSE_POSITIONS, ORDER_DETAIL, PLACE_ORDER, job, send


@dataclass
class Journal:
    idempotency_key: str
    notes: dict[str, Any] = field(default_factory=dict)
    in_flight: dict[str, Any] | None = None

    def note(self, key: str, value: Any) -> None:
        self.notes[key] = value

    def sending(self, what: dict[str, Any]) -> None:
        self.in_flight = what


def release_scheduled(redis, settings):
    """Do what RQ's scheduler does when the time comes, without waiting for it."""
    queue = make_queue(redis, settings)
    for job_id in queue.scheduled_job_registry.get_job_ids():
        queue.scheduled_job_registry.remove(job_id)
        put_on_queue(queue, queue.fetch_job(job_id))


@pytest.fixture
def adapter(settings):
    return get_venue("bitget").build_adapter(settings, Transport())


@pytest.mark.parametrize("action, qty, path", [("reverse", None, BACKHAND), ("close", Decimal("2"), PLACE_ORDER)])
def test_a_second_run_of_the_same_job_gets_the_duplicate_and_reports_the_order_as_done(
        adapter, sim, action, qty, path):
    sim.open("long", "10")
    alert = Alert(venue="bitget", action=action, symbol="BTCUSDT", qty=qty)
    first = adapter.perform(alert, Journal("job-42"))
    again = adapter.perform(alert, Journal("job-42"))
    assert again.detail["outcome"] == FOUND_DONE and again.order_id == first.order_id
    assert again.detail["client_oid"] == first.detail["client_oid"]
    (order,) = sim.orders()
    assert order["id"] == first.order_id
    sent = sim.requests(path)
    assert [entry["code"] for entry in sent] == ["00000", "40786"]
    assert len({json.loads(entry["body"])["clientOid"] for entry in sent}) == 1


def test_reconcile_finds_the_order_by_client_oid_once_done_and_nothing_before(adapter, sim):
    sim.open("short", "1")
    alert = Alert(venue="bitget", action="reverse", symbol="BTCUSDT")
    journal = Journal("job-7")
    in_flight = {"client_oid": orders.client_oid("job-7", "reverse"), "position_before": {}}
    assert adapter.reconcile(alert, in_flight) is None
    first = adapter.perform(alert, journal)
    assert journal.in_flight["client_oid"] == in_flight["client_oid"] == first.detail["client_oid"]
    found = adapter.reconcile(alert, journal.in_flight)
    assert found.detail["outcome"] == FOUND_DONE and found.order_id == first.order_id
    assert len(sim.requests(BACKHAND)) == 1 and sim.positions() == {"long": "1"}


def test_a_lost_reversal_answer_is_found_done_by_its_client_oid_never_sent_twice(client, sim, redis, settings,
                                                                                  run_jobs):
    sim.open("long", "20")
    sim.fault(kind="drop", when="after", path=BACKHAND)
    job_id = send(client, action="reverse")
    run_jobs()
    view = job(client, job_id)
    assert view["status"] == "deferred" and view["deferred"]["reason"] == "outcome_unknown", view
    release_scheduled(redis, settings)
    run_jobs()
    view = job(client, job_id)
    assert view["status"] == "finished", view
    assert view["attempts"][-1]["outcome"] == FOUND_DONE
    (order,) = sim.orders()
    assert view["result"]["order_id"] == order["id"] and len(sim.requests(BACKHAND)) == 1
    assert sim.positions() == {"short": "20"}


@pytest.mark.parametrize("not_found", ["40109", "40768", "43001"])
@pytest.mark.parametrize("action, fields, path", [("reverse", {}, BACKHAND), ("close", {"qty": "4"}, PLACE_ORDER)])
def test_an_order_lookup_answering_any_not_found_code_reads_as_not_done_and_the_order_is_sent_again(
        client, sim, redis, settings, run_jobs, not_found, action, fields, path):
    sim.open("long", "10")
    sim.configure(order_not_found_code=not_found)
    sim.fault(kind="drop", when="before", path=path)  # the request never reached the venue
    job_id = send(client, action=action, **fields)
    run_jobs()
    assert job(client, job_id)["deferred"]["reason"] == "outcome_unknown"
    release_scheduled(redis, settings)
    run_jobs()
    view = job(client, job_id)
    assert view["status"] == "finished", view
    assert view["attempts"][-1]["notes"]["reconciliation"] == "not done on the venue: sending again"
    assert [entry["code"] for entry in sim.requests(ORDER_DETAIL)] == [not_found]
    assert len(sim.requests(path)) == 2 and len(sim.orders()) == 1


def test_a_lost_flash_close_answer_is_found_done_by_the_position_being_gone(client, sim, redis, settings, run_jobs):
    sim.open("long", "2")
    sim.fault(kind="drop", when="after", path=CLOSE_POSITIONS)
    job_id = send(client, action="close")
    run_jobs()
    release_scheduled(redis, settings)
    run_jobs()
    view = job(client, job_id)
    assert view["status"] == "finished" and view["attempts"][-1]["outcome"] == FOUND_DONE, view
    assert len(sim.requests(CLOSE_POSITIONS)) == 1 and sim.positions() == {}


def test_a_job_retried_after_maintenance_sends_the_same_client_oid_and_acts_once(client, sim, redis, settings,
                                                                                  run_jobs):
    sim.open("long", "1")
    sim.fault(kind="funding", path=BACKHAND)
    job_id = send(client, action="reverse")
    run_jobs()
    assert job(client, job_id)["status"] == "deferred"
    release_scheduled(redis, settings)
    run_jobs()
    view = job(client, job_id)
    assert view["status"] == "finished", view
    first, second = sim.bodies(BACKHAND)
    assert first["clientOid"] == second["clientOid"] == view["result"]["client_oid"]
    assert len(sim.orders()) == 1 and sim.positions() == {"short": "1"}
