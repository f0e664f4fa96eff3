"""Sizes from the contract's metadata: fetched through the rate limiter, cached per symbol, refreshed on a TTL
and on a 40808, a size under the minimum refused before anything is sent; over HTTP against the simulator."""
from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal

import pytest

from config.ratelimits import RateLimit
from executor.domain import Alert
from executor.errors import JobFailed
from executor.ratelimit import RateLimiter
from executor.sendguard import SendGuard
from executor.simulator import DEMO_BITGET_API_KEY, DEMO_BITGET_PASSPHRASE, DEMO_BITGET_SECRET_KEY
from executor.venues.bitget.adapter import BitgetAdapter
from executor.venues.bitget.client import BitgetClient
from executor.venues.bitget.contracts import CONTRACT_TTL_SECONDS, ContractBook, ContractSpec
from executor.venues.transport import Request, Transport
from tests.bitget.helpers import BACKHAND, CONTRACTS, PLACE_ORDER, job, send
from tests.conftest import NO_FUNDING


class Monotonic:
    """The book's clock, moved by hand."""

    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def client_for(sim, before_send=None) -> BitgetClient:
    return BitgetClient(sim.base_url, DEMO_BITGET_API_KEY, DEMO_BITGET_SECRET_KEY, DEMO_BITGET_PASSPHRASE,
                        Transport(before_send=before_send))


def test_half_of_a_position_written_with_two_decimals_is_closed_at_the_contracts_step(client, sim, run_jobs):
    sim.open("long", "0.01")
    job_id = send(client, action="close", ratio="0.5")
    run_jobs()
    view = job(client, job_id)
    assert view["status"] == "finished", view
    assert [body["size"] for body in sim.bodies(PLACE_ORDER)] == ["0.005"]
    assert sim.positions() == {"long": "0.005"}
    assert view["result"]["contract"] == {"step": "0.0001", "min_size": "0.0001", "volume_place": "4",
                                          "size_multiplier": "0.0001"}
    (fetch,) = sim.requests(CONTRACTS)
    assert fetch["query"] == "productType=USDT-FUTURES&symbol=BTCUSDT" and fetch["status"] == 200


def test_a_hedge_reversal_of_part_of_a_position_sends_its_qty_rounded_down_to_the_step(client, hedge, run_jobs):
    hedge.set_contract(volumePlace="2", sizeMultiplier="0.01", minTradeNum="0.01")
    hedge.open("long", "1")
    job_id = send(client, action="reverse", qty="0.257")
    run_jobs()
    view = job(client, job_id)
    assert view["status"] == "finished", view
    assert [body["size"] for body in hedge.bodies(BACKHAND)] == ["0.25"]
    assert view["result"]["qty_asked"] == "0.257" and hedge.positions() == {"long": "0.75", "short": "0.25"}


@pytest.mark.parametrize("fields", [{"action": "reverse"}, {"action": "close"}])
def test_a_whole_position_needs_no_contract_metadata(client, sim, run_jobs, fields):
    sim.open("long", "0.01")
    job_id = send(client, **fields)
    run_jobs()
    assert job(client, job_id)["status"] == "finished"
    assert sim.requests(CONTRACTS) == []


def test_the_metadata_is_fetched_once_for_every_job_the_worker_runs_on_that_symbol(client, sim, run_jobs):
    sim.open("long", "1")
    ids = [send(client, action="close", qty=qty) for qty in ("0.1", "0.2", "0.3")]
    run_jobs()
    assert [job(client, job_id)["status"] for job_id in ids] == ["finished"] * 3
    assert len(sim.requests(CONTRACTS)) == 1 and sim.positions() == {"long": "0.4"}


def test_metadata_older_than_the_ttl_is_fetched_again(sim):
    clock = Monotonic()
    book = ContractBook(client_for(sim).contracts, clock=clock)
    first = book.get("btcusdt")
    clock.t += CONTRACT_TTL_SECONDS - 1
    assert book.get("BTCUSDT") is first and len(sim.requests(CONTRACTS)) == 1
    sim.set_contract(volumePlace="2", sizeMultiplier="0.01", minTradeNum="0.01")
    clock.t += 2
    assert book.get("BTCUSDT") == ContractSpec("BTCUSDT", 2, Decimal("0.01"), Decimal("0.01"))
    assert len(sim.requests(CONTRACTS)) == 2


def test_a_40808_after_the_contract_changed_refreshes_the_metadata_and_sends_the_size_that_fits(
        client, sim, run_jobs):
    sim.open("long", "1")
    send(client, action="close", qty="0.9")  # caches BTCUSDT's step of 0.0001
    run_jobs()
    sim.set_contract(volumePlace="2", sizeMultiplier="0.01", minTradeNum="0.01")
    job_id = send(client, action="close", ratio="0.33")  # 0.033 by the cached step
    run_jobs()
    view = job(client, job_id)
    assert view["status"] == "finished", view
    assert [(entry["code"], entry["body"].count('"size":"0.03"')) for entry in sim.requests(PLACE_ORDER)][1:] == [
        ("40808", 0), ("00000", 1)]
    assert view["attempts"][-1]["notes"]["contract_refreshed"]["refused_size"] == "0.033"
    assert view["result"]["size"] == "0.03" and view["result"]["contract"]["step"] == "0.01"
    assert len(sim.requests(CONTRACTS)) == 2 and sim.positions() == {"long": "0.07"}


def test_a_40808_that_fresh_metadata_does_not_explain_fails_the_job_without_sending_again(client, sim, run_jobs):
    sim.open("long", "1")
    sim.fault(kind="reject", path=PLACE_ORDER, code="40808", message="size checkBDScale error value=0.5 checkScale=0")
    job_id = send(client, action="close", qty="0.5")
    run_jobs()
    error = job(client, job_id)["error"]
    assert (error["type"], error["code"]) == ("SizeScaleRejected", "40808")
    assert len(sim.requests(PLACE_ORDER)) == 1 and len(sim.requests(CONTRACTS)) == 2
    assert sim.positions() == {"long": "1"}


def test_a_size_under_the_minimum_is_refused_before_the_order_is_sent(sim):
    sim.set_contract(minTradeNum="0.01")
    sim.open("long", "1")
    adapter = BitgetAdapter(client_for(sim))
    with pytest.raises(JobFailed, match="under the contract's minimum size 0.01"):
        adapter.perform(Alert(venue="bitget", action="close", symbol="BTCUSDT", qty=Decimal("0.0099")),
                        _Journal())
    assert sim.requests(PLACE_ORDER) == [] and sim.positions() == {"long": "1"}


def test_the_metadata_request_goes_through_the_shared_rate_limiter_at_20_a_second(sim, redis):
    charged: list[tuple[str, tuple[RateLimit, ...]]] = []
    guard = SendGuard(RateLimiter(redis), NO_FUNDING, max_wait=2.0, clock=lambda: datetime.now(timezone.utc))

    def before_send(venue: str, credential: str, request: Request) -> None:
        charged.append((request.endpoint, guard.limits(venue, request.endpoint)))
        guard(venue, credential, request)

    ContractBook(client_for(sim, before_send).contracts).get("BTCUSDT")
    ((endpoint, limits),) = charged
    assert endpoint == "contracts" and limits[0] == RateLimit("contracts", 20, 1.0)
    assert [key for key in redis.scan_iter("executor:rl:*:w:contracts")], "no contracts window was charged"


class _Journal:
    idempotency_key = "job-contracts"

    def note(self, key, value) -> None:
        pass

    def sending(self, what) -> None:
        pass
