"""Target-position alerts (``market_position``) through the web app, Redis and the product's worker, against the
simulator over HTTP, on every venue: every venue side against every target, with and without
``prev_market_position``; re-sent targets; lost answers; funding windows."""
from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest

from config.funding import DEFAULT_SCHEDULES
from executor.domain import Alert
from executor.errors import PositionChanged
from executor.history import Attempt
from executor.jobview import fetch_job
from executor.simulator.bitget.demo import register_demo_bitget
from executor.target import act_toward_target
from tests.bitget.helpers import BitgetSim
from tests.crosstrade.sim import release_scheduled
from tests.venue_drivers import DRIVERS, add_fault, all_venue_settings, job, run_worker
from workers.runtime import Runtime

pytestmark = pytest.mark.e2e

VENUES = tuple(DRIVERS)
SIDES = ("long", "short", "flat")

# What a target alert does, by (venue side, target, prev_market_position or None), read off the issue:
# already there: nothing; a venue side neither the previous one nor the target: out of sync; flat toward a
# side: refused (the product does not open positions); else reverse toward the other side, close toward flat.
EXPECTED = {
    # no prev_market_position
    ("long", "long", None): "already", ("long", "short", None): "reverse", ("long", "flat", None): "close",
    ("short", "long", None): "reverse", ("short", "short", None): "already", ("short", "flat", None): "close",
    ("flat", "long", None): "open", ("flat", "short", None): "open", ("flat", "flat", None): "already",
    # the venue is long
    ("long", "long", "long"): "already", ("long", "long", "short"): "already", ("long", "long", "flat"): "already",
    ("long", "short", "long"): "reverse", ("long", "short", "short"): "sync", ("long", "short", "flat"): "sync",
    ("long", "flat", "long"): "close", ("long", "flat", "short"): "sync", ("long", "flat", "flat"): "sync",
    # the venue is short
    ("short", "long", "short"): "reverse", ("short", "long", "long"): "sync", ("short", "long", "flat"): "sync",
    ("short", "short", "long"): "already", ("short", "short", "short"): "already",
    ("short", "short", "flat"): "already",
    ("short", "flat", "short"): "close", ("short", "flat", "long"): "sync", ("short", "flat", "flat"): "sync",
    # the venue is flat
    ("flat", "long", "flat"): "open", ("flat", "long", "long"): "sync", ("flat", "long", "short"): "sync",
    ("flat", "short", "flat"): "open", ("flat", "short", "long"): "sync", ("flat", "short", "short"): "sync",
    ("flat", "flat", "long"): "already", ("flat", "flat", "short"): "already", ("flat", "flat", "flat"): "already",
}
OPPOSITE = {"long": "short", "short": "long"}


@pytest.fixture
def settings(settings, simulator):
    return all_venue_settings(settings, simulator)


def scenario_id(case: tuple) -> str:
    venue, (found, target, prev) = case
    return f"{venue}-venue_{found}-target_{target}-prev_{prev or 'none'}"


CASES = [(venue, key) for venue in VENUES for key in EXPECTED]


@pytest.mark.parametrize("case", CASES, ids=[scenario_id(case) for case in CASES])
def test_a_target_alert_brings_the_position_there_or_fails_sending_nothing(client, simulator, run_jobs, case):
    venue, (found, target, prev) = case
    driver = DRIVERS[venue]
    if found != "flat":
        driver.open(simulator, found)
    before = driver.holding(simulator)
    answer = client.post("/webhook", json=driver.alert(market_position=target.upper(), prev_market_position=prev))
    assert answer.status_code == 202, answer.json
    run_jobs()
    record = job(client, answer.json["job_id"])
    expected = EXPECTED[(found, target, prev)]
    acting = driver.acting_requests(simulator)
    after = driver.holding(simulator)
    if expected == "already":
        assert record["status"] == "finished", record
        assert record["result"]["outcome"] == f"already {target}" == record["attempts"][-1]["outcome"]
        assert acting == [] and after == before
    elif expected in ("reverse", "close"):
        assert record["status"] == "finished" and record["attempts"][-1]["outcome"] == "sent", record
        assert record["attempts"][-1]["notes"]["target"] == {"market_position": target, "found": found,
                                                             "action": expected}
        assert record["result"]["market_position"] == target
        assert len(acting) == 1
        assert after == ([(OPPOSITE[found], before[0][1])] if expected == "reverse" else [])
    elif expected == "open":
        assert record["status"] == "failed" and record["error"]["type"] == "WouldOpenPosition", record
        assert "does not open" in record["error"]["message"] and f"target is {target}" in record["error"]["message"]
        assert acting == [] and after == []
    else:
        assert record["status"] == "failed" and record["error"]["type"] == "OutOfSync", record
        message = record["error"]["message"]
        assert message.startswith("out of sync") and "nothing was sent" in message
        assert f" is {found if found == 'flat' else found + ' ' + str(before[0][1])} on the venue" in message
        assert acting == [] and after == before


@pytest.mark.parametrize("venue", VENUES)
def test_a_target_alert_sent_four_times_without_deduplication_acts_once(
        client, app, simulator, run_jobs, venue, settings):
    app.extensions["executor"].settings = dataclasses.replace(settings, dedupe_window=0)
    driver = DRIVERS[venue]
    driver.open(simulator, "long")
    answers = [client.post("/webhook", json=driver.alert(market_position="short")) for _ in range(4)]
    assert [answer.status_code for answer in answers] == [202] * 4
    assert len({answer.json["job_id"] for answer in answers}) == 4
    run_jobs()
    outcomes = [job(client, answer.json["job_id"])["attempts"][-1]["outcome"] for answer in answers]
    assert outcomes == ["sent", "already short", "already short", "already short"]
    assert len(driver.acting_requests(simulator)) == 1
    assert driver.holding(simulator) == [("short", Decimal(driver.size))]


@pytest.mark.parametrize("venue", VENUES)
def test_a_target_alert_with_an_id_sent_four_times_is_one_job(client, simulator, run_jobs, venue):
    driver = DRIVERS[venue]
    driver.open(simulator, "short")
    body = driver.alert(market_position="flat", id="tv-target-1")
    answers = [client.post("/webhook", json=body) for _ in range(4)]
    assert [answer.status_code for answer in answers] == [202, 200, 200, 200]
    assert len({answer.json["job_id"] for answer in answers}) == 1
    run_jobs()
    assert len(driver.acting_requests(simulator)) == 1 and driver.holding(simulator) == []


ACTING_PATHS = {"coinw": ("/v1/perpum/positions/reverse", "/v1/perpum/positions"),
                "bitget": ("/api/v2/mix/order/click-backhand", "/api/v2/mix/order/close-positions"),
                "crosstrade": ("/v1/api/accounts/Sim101/positions/reverseposition",
                               "/v1/api/accounts/Sim101/positions/close")}


@pytest.mark.parametrize("venue", VENUES)
@pytest.mark.parametrize("target", ["short", "flat"])
def test_a_target_whose_answer_was_lost_is_reconciled_from_the_venue_and_not_sent_again(
        client, simulator, run_jobs, redis, settings, venue, target):
    driver = DRIVERS[venue]
    driver.open(simulator, "long")
    path = ACTING_PATHS[venue][0 if target == "short" else 1]
    method = "DELETE" if venue == "coinw" and target == "flat" else "POST"  # CoinW reads positions on that path too
    add_fault(simulator, venue, path=path, method=method, kind="http_error", status=502, when="after")
    job_id = client.post("/webhook", json=driver.alert(market_position=target)).json["job_id"]
    run_jobs()
    first = job(client, job_id)
    assert first["status"] == "deferred" and first["deferred"]["reason"] == "outcome_unknown", first
    action = "reverse" if target == "short" else "close"
    in_flight = fetch_job(redis, job_id).meta["in_flight"]
    assert in_flight["target"] == {"market_position": target, "action": action}
    release_scheduled(redis, settings)
    run_jobs()
    record = job(client, job_id)
    assert record["status"] == "finished", record
    assert record["attempts"][-1]["outcome"] == "found already done on the venue"
    if venue != "crosstrade":  # CrossTrade's result names the order's side (BUY/SELL) in its place
        assert record["result"]["action"] == action  # reconciled as the action that was sent
    assert len(driver.acting_requests(simulator)) == 1
    assert driver.holding(simulator) == ([("short", Decimal(driver.size))] if target == "short" else [])


def test_a_target_whose_request_never_arrived_is_decided_again_and_sent_once(
        client, simulator, run_jobs, redis, settings):
    driver = DRIVERS["coinw"]
    driver.open(simulator, "short")
    add_fault(simulator, "coinw", path=ACTING_PATHS["coinw"][0], kind="drop", when="before")
    job_id = client.post("/webhook", json=driver.alert(market_position="long")).json["job_id"]
    run_jobs()
    release_scheduled(redis, settings)
    run_jobs()
    record = job(client, job_id)
    assert record["status"] == "finished" and record["attempts"][-1]["outcome"] == "sent", record
    assert record["attempts"][-1]["notes"]["reconciliation"] == "not done on the venue: sending again"
    assert driver.holding(simulator) == [("long", Decimal(driver.size))]


FUNDING_AT = datetime(2026, 11, 20, 8, 0, tzinfo=timezone.utc)


def test_a_target_alert_inside_a_funding_window_waits_for_its_end_and_sends_nothing_meanwhile(
        client, simulator, settings, redis, clock):
    funded = dataclasses.replace(settings, funding=DEFAULT_SCHEDULES)
    clock.now = FUNDING_AT - timedelta(seconds=5)
    driver = DRIVERS["coinw"]
    driver.open(simulator, "long")
    job_id = client.post("/webhook", json=driver.alert(market_position="short")).json["job_id"]
    run_worker(funded, redis, clock)
    record = job(client, job_id)
    assert record["status"] == "deferred" and record["deferred"]["reason"] == "funding", record
    assert driver.acting_requests(simulator) == [] and driver.holding(simulator) == [("long", Decimal("10"))]
    clock.now = FUNDING_AT + timedelta(minutes=2)
    release_scheduled(redis, settings)
    run_worker(funded, redis, clock)
    assert job(client, job_id)["status"] == "finished"
    assert driver.holding(simulator) == [("short", Decimal("10"))]


class TradedMeanwhile:
    """The real CoinW adapter, with someone reversing the position by hand just after the target's read."""

    def __init__(self, adapter) -> None:
        self.adapter = adapter

    def open_positions(self, alert):
        found = self.adapter.open_positions(alert)
        self.adapter.client.reverse(found[0].position_id)
        return found

    def perform(self, alert, journal):
        return self.adapter.perform(alert, journal)


def test_a_position_that_changes_between_the_decision_and_the_action_fails_the_job_sending_nothing(
        simulator, settings, redis):
    driver = DRIVERS["coinw"]
    driver.open(simulator, "long")
    adapter = TradedMeanwhile(Runtime(settings, redis=redis).adapter("coinw"))
    with pytest.raises(PositionChanged) as raised:
        act_toward_target(adapter, Alert(venue="coinw", symbol="BTC", market_position="flat"), Attempt(None))
    assert str(raised.value) == ("CoinW BTC changed while the job ran: it was long 10 when the close was decided, "
                                 "then short 10; nothing was sent")
    assert len(driver.acting_requests(simulator)) == 1  # the hand-made reversal only
    assert driver.holding(simulator) == [("short", Decimal("10"))]


@pytest.fixture
def bitget_hedge(simulator):
    """The demo Bitget account in hedge mode, put back in one-way mode afterwards."""
    BitgetSim(simulator).set_mode("hedge_mode")
    yield BitgetSim(simulator)
    register_demo_bitget(simulator.state)


def test_bitget_hedge_mode_with_one_side_open_is_reversed_whole_toward_the_target(client, run_jobs, bitget_hedge):
    bitget_hedge.open("long", "0.5")
    job_id = client.post("/webhook", json=DRIVERS["bitget"].alert(market_position="short")).json["job_id"]
    run_jobs()
    assert job(client, job_id)["status"] == "finished"
    assert bitget_hedge.positions() == {"short": "0.5"}


def test_bitget_hedge_mode_with_both_sides_open_fails_naming_them_and_sends_nothing(
        client, simulator, run_jobs, bitget_hedge):
    bitget_hedge.open("long", "0.5")
    bitget_hedge.open("short", "0.2")
    job_id = client.post("/webhook", json=DRIVERS["bitget"].alert(market_position="flat")).json["job_id"]
    run_jobs()
    error = job(client, job_id)["error"]
    assert error["type"] == "AmbiguousPosition"
    assert error["message"] == ("Bitget BTCUSDT has positions on both sides (long 0.5, short 0.2): a target "
                                "position needs one side; nothing was sent")
    assert DRIVERS["bitget"].acting_requests(simulator) == []


@pytest.mark.parametrize("target, outcome", [("long", "already long"), ("short", "AmbiguousPosition")])
def test_several_coinw_positions_on_one_side_are_already_there_or_too_many_to_act_on(
        client, simulator, run_jobs, target, outcome):
    driver = DRIVERS["coinw"]
    driver.open(simulator, "long", size="1")
    driver.open(simulator, "long", size="2")
    job_id = client.post("/webhook", json=driver.alert(market_position=target)).json["job_id"]
    run_jobs()
    record = job(client, job_id)
    if outcome.startswith("already"):
        assert record["attempts"][-1]["outcome"] == outcome
    else:
        assert record["error"]["type"] == outcome and "has 2 open positions" in record["error"]["message"]
    assert driver.acting_requests(simulator) == []
