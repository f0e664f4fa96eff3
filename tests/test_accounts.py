"""One alert for several accounts: the answer, one job per account with its own lane, rate-limit key, dedupe and
exactly-once handling, through the web app, Redis and the product's worker against the simulator over HTTP."""
from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from decimal import Decimal

import pytest
import requests

from executor.jobview import fetch_job
from executor.ratelimit import credential_tag
from executor.simulator import DEMO_COINW_API_KEY, DEMO_COINW_SECRET_KEY, DEMO_CROSSTRADE_TOKEN
from tests.crosstrade.sim import release_scheduled
from tests.venue_drivers import (DRIVERS, SECOND, SECOND_BITGET, SECOND_COINW, TIMEOUT_S, add_fault,
                                 all_venue_settings, job, register_second_accounts, run_worker)

pytestmark = pytest.mark.e2e

VENUES = tuple(DRIVERS)


@pytest.fixture
def settings(settings, simulator):
    register_second_accounts(simulator)
    return all_venue_settings(settings, simulator)


def post(client, body):
    return client.post("/webhook", json=body)


# --- the answer ---

@pytest.mark.parametrize("accounts", ["default,second", ["default", "second"], " Default , SECOND "])
def test_an_alert_for_two_accounts_answers_202_with_one_job_per_account_in_its_order(client, redis, accounts):
    answer = post(client, DRIVERS["coinw"].alert(action="reverse", account=accounts))
    assert answer.status_code == 202, answer.json
    jobs = answer.json["jobs"]
    assert [entry["account"] for entry in jobs] == ["default", "second"]
    assert all(entry["status"] == "queued" for entry in jobs) and set(answer.json) == {"jobs"}
    default, second = (fetch_job(redis, entry["job_id"]) for entry in jobs)
    assert "account" not in default.args[0]["alert"] and second.args[0]["alert"]["account"] == "second"
    assert (default.meta["lane"], second.meta["lane"]) == ("coinw:-:BTC", "coinw:second:BTC")


@pytest.mark.parametrize("accounts", ["second", ["second"], "SECOND"])
def test_an_alert_for_one_named_account_answers_as_any_single_alert(client, redis, accounts):
    answer = post(client, DRIVERS["coinw"].alert(action="reverse", account=accounts))
    assert answer.status_code == 202 and set(answer.json) == {"job_id", "status"}
    assert fetch_job(redis, answer.json["job_id"]).args[0]["alert"]["account"] == "second"


def test_a_multi_account_alert_sent_again_is_answered_200_with_the_same_jobs(client):
    body = DRIVERS["bitget"].alert(action="close", account="default,second", id="tv-77")
    first = post(client, body)
    again = post(client, body)
    assert again.status_code == 200 and again.json["duplicate"] is True
    assert [(e["account"], e["job_id"]) for e in again.json["jobs"]] == [
        (e["account"], e["job_id"]) for e in first.json["jobs"]]
    assert all(entry["duplicate"] is True for entry in again.json["jobs"])


def test_each_account_is_deduplicated_on_its_own(client):
    driver = DRIVERS["coinw"]
    single = post(client, driver.alert(action="reverse", id="tv-9"))
    both = post(client, driver.alert(action="reverse", id="tv-9", account="default,second"))
    assert both.status_code == 202
    default, second = both.json["jobs"]
    assert default == {"account": "default", "job_id": single.json["job_id"], "status": "queued", "duplicate": True}
    assert second["job_id"] != single.json["job_id"] and "duplicate" not in second


@pytest.mark.parametrize("accounts, message", [
    ("default,nope,other", "Unknown CoinW accounts: nope, other (known here: default, second)."),
    (["Nope"], "Unknown CoinW account: Nope (known here: default, second)."),
    ("second,SECOND", "Names account SECOND twice."),
    ("default,", "An empty account name."),
    (["second", 7], "One account name, a comma-separated list of names or a JSON array of names."),
    (7, "One account name, a comma-separated list of names or a JSON array of names."),
])
def test_an_alert_naming_accounts_this_server_does_not_have_is_400_naming_them(client, redis, accounts, message):
    answer = post(client, DRIVERS["coinw"].alert(action="reverse", account=accounts))
    assert answer.status_code == 400 and answer.json["fields"]["account"] == [message]
    assert redis.keys("executor:lane:*") == []


def test_an_alert_for_a_venue_not_configured_here_is_400_naming_the_venue_and_the_accounts(client, app, settings):
    app.extensions["executor"].settings = dataclasses.replace(settings, bitget=dataclasses.replace(
        settings.bitget, api_key=None, accounts={}))
    answer = post(client, DRIVERS["bitget"].alert(action="reverse", account="main,sub"))
    assert answer.status_code == 400
    assert "Bitget is not configured on this server" in answer.json["fields"]["venue"][0]
    assert answer.json["fields"]["account"] == ["No Bitget account is configured on this server: main, sub."]


def test_without_a_default_account_an_alert_must_name_one(client, app, settings):
    app.extensions["executor"].settings = dataclasses.replace(settings, coinw=dataclasses.replace(
        settings.coinw, api_key=None, secret_key=None))
    answer = post(client, DRIVERS["coinw"].alert(action="reverse"))
    assert answer.status_code == 400
    assert answer.json["fields"]["account"] == ["CoinW has no default account on this server: name one "
                                                "(known here: second)."]
    assert post(client, DRIVERS["coinw"].alert(action="reverse", account="default")).status_code == 400
    assert post(client, DRIVERS["coinw"].alert(action="reverse", account="second")).status_code == 202


def test_crosstrade_accounts_listed_in_crosstrade_accounts_refuse_other_names(client, app, settings):
    app.extensions["executor"].settings = dataclasses.replace(settings, crosstrade=dataclasses.replace(
        settings.crosstrade, accounts=("Sim102",)))
    driver = DRIVERS["crosstrade"]
    answer = post(client, driver.alert(action="reverse", account="sim102,Sim103"))
    assert answer.status_code == 400
    assert answer.json["fields"]["account"] == ["Unknown CrossTrade account: Sim103 (known here: default, Sim102)."]
    both = post(client, driver.alert(action="reverse", account="default,sim102"))
    assert [entry["account"] for entry in both.json["jobs"]] == ["Sim101", "Sim102"]


def test_crosstrade_takes_any_ninjatrader_account_when_no_list_is_set(client, redis):
    answer = post(client, DRIVERS["crosstrade"].alert(action="reverse", account="Sim102,Sim777"))
    assert answer.status_code == 202
    assert [entry["account"] for entry in answer.json["jobs"]] == ["Sim102", "Sim777"]


# --- performing the jobs ---

@pytest.mark.parametrize("venue", VENUES)
def test_a_fan_out_to_two_accounts_acts_once_on_each(client, simulator, run_jobs, venue):
    driver = DRIVERS[venue]
    driver.open(simulator, "long")
    driver.open(simulator, "short", account=SECOND)
    body = driver.alert(action="reverse", account=f"default,{driver.second}", id=f"fan-{venue}")
    answer = post(client, body)
    assert post(client, body).status_code == 200  # TradingView's re-send
    run_jobs()
    assert [job(client, entry["job_id"])["status"] for entry in answer.json["jobs"]] == ["finished", "finished"]
    size = Decimal(driver.size)
    assert driver.holding(simulator) == [("short", size)]
    assert driver.holding(simulator, SECOND) == [("long", size)]
    assert len(driver.acting_requests(simulator)) == 1
    assert len(driver.acting_requests(simulator, SECOND)) == 1


@pytest.mark.parametrize("venue", VENUES)
def test_a_target_fan_out_brings_each_account_to_the_target_from_where_it_is(client, simulator, run_jobs, venue):
    driver = DRIVERS[venue]
    driver.open(simulator, "long")
    driver.open(simulator, "short", account=SECOND)
    answer = post(client, driver.alert(market_position="short", account=f"default,{driver.second}"))
    run_jobs()
    outcomes = [job(client, entry["job_id"])["attempts"][-1]["outcome"] for entry in answer.json["jobs"]]
    assert outcomes == ["sent", "already short"]
    assert driver.holding(simulator) == driver.holding(simulator, SECOND) == [("short", Decimal(driver.size))]


def break_second_account(simulator, venue: str) -> None:
    """The second account's requests fail on the venue: its keys rotated there, or NinjaTrader refusing it."""
    if venue == "coinw":
        body = {"venue": "coinw", "api_key": SECOND_COINW.api_key, "secret_key": "rotated-on-the-venue"}
    elif venue == "bitget":
        body = {"venue": "bitget", "api_key": SECOND_BITGET.api_key, "secret_key": "rotated-on-the-venue",
                "passphrase": "rotated", "pos_mode": "one_way_mode"}
    else:
        add_fault(simulator, "crosstrade", kind="reject", status=400, code="AccountLocked",
                  message="account Sim102 is locked", path="/v1/api/accounts/Sim102/position")
        return
    assert requests.post(f"{simulator.base_url}/_sim/credentials", json=body, timeout=TIMEOUT_S).status_code == 201


@pytest.mark.parametrize("venue", VENUES)
def test_a_fan_out_whose_first_account_fails_still_acts_on_the_other(client, simulator, run_jobs, venue):
    driver = DRIVERS[venue]
    driver.open(simulator, "long")
    driver.open(simulator, "long", account=SECOND)
    break_second_account(simulator, venue)
    answer = post(client, driver.alert(action="reverse", account=f"{driver.second},default"))
    run_jobs()
    failed, done = (job(client, entry["job_id"]) for entry in answer.json["jobs"])
    assert failed["status"] == "failed" and failed["error"]["type"] == "VenueRejected", failed
    assert done["status"] == "finished", done
    assert driver.holding(simulator) == [("short", Decimal(driver.size))]
    assert driver.holding(simulator, SECOND) == [("long", Decimal(driver.size))]
    assert driver.acting_requests(simulator, SECOND) == []


def test_a_lost_answer_on_one_account_of_a_fan_out_is_reconciled_for_that_account_alone(
        client, simulator, run_jobs, redis, settings):
    driver = DRIVERS["crosstrade"]
    driver.open(simulator, "long")
    driver.open(simulator, "long", account=SECOND)
    add_fault(simulator, "crosstrade", kind="http_error", status=502, when="after",
              path="/v1/api/accounts/Sim102/positions/reverseposition")
    answer = post(client, driver.alert(market_position="short", account="Sim101,Sim102"))
    run_jobs()
    default_id, second_id = (entry["job_id"] for entry in answer.json["jobs"])
    assert job(client, default_id)["status"] == "finished"
    assert job(client, second_id)["deferred"]["reason"] == "outcome_unknown"
    release_scheduled(redis, settings)
    run_jobs()
    second = job(client, second_id)
    assert second["status"] == "finished" and second["attempts"][-1]["outcome"] == "found already done on the venue"
    assert len(driver.acting_requests(simulator)) == len(driver.acting_requests(simulator, SECOND)) == 1
    assert driver.holding(simulator) == driver.holding(simulator, SECOND) == [("short", Decimal(driver.size))]


@pytest.mark.parametrize("venue, separate", [("coinw", True), ("bitget", True), ("crosstrade", False)])
def test_each_account_is_rate_limited_under_the_credential_the_venue_meters(
        client, simulator, run_jobs, redis, venue, separate):
    driver = DRIVERS[venue]
    driver.open(simulator, "long")
    driver.open(simulator, "long", account=SECOND)
    post(client, driver.alert(action="reverse", account=f"default,{driver.second}"))
    run_jobs()
    tags = {key.decode().split("{", 1)[1].split("}", 1)[0] for key in redis.keys(f"executor:rl:{{{venue}:*")}
    if separate:
        metered = {DRIVERS[venue].account_key(None), DRIVERS[venue].account_key(SECOND)}
    else:
        metered = {DEMO_CROSSTRADE_TOKEN}
    assert tags == {f"{venue}:{credential_tag(credential)}" for credential in metered}


@pytest.mark.parametrize("venue", ["coinw", "bitget"])
def test_a_rate_limited_answer_to_one_account_holds_back_that_account_only(client, simulator, run_jobs, redis, venue):
    driver = DRIVERS[venue]
    driver.open(simulator, "long", account=SECOND)
    add_fault(simulator, venue, kind="rate_limit", count=1)
    job_id = post(client, driver.alert(action="reverse", account=SECOND)).json["job_id"]
    run_jobs()
    assert job(client, job_id)["deferred"]["reason"] == "rate_limit", job(client, job_id)
    penalised = {key.decode() for key in redis.keys("executor:rl:*penalty")}
    assert penalised == {f"executor:rl:{{{venue}:{credential_tag(driver.account_key(SECOND))}}}:penalty"}


def test_a_worker_without_the_accounts_credentials_fails_its_job_naming_the_variables(
        client, simulator, settings, redis):
    driver = DRIVERS["coinw"]
    driver.open(simulator, "long", account=SECOND)
    job_id = post(client, driver.alert(action="reverse", account=SECOND)).json["job_id"]
    bare = dataclasses.replace(settings, coinw=dataclasses.replace(settings.coinw, accounts={}))
    run_worker(bare, redis)
    error = job(client, job_id)["error"]
    assert error["type"] == "VenueNotConfigured"
    assert error["message"] == ("account second of CoinW is not configured on this worker "
                                "(set COINW_SECOND_API_KEY, COINW_SECOND_SECRET_KEY)")


# --- all of an alert's jobs, or none ---

def test_the_jobs_of_a_fan_out_are_written_by_one_redis_command(client, redis):
    post(client, DRIVERS["bitget"].alert(action="reverse"))  # Redis now knows the script: no NOSCRIPT round
    with redis.monitor() as monitor:
        answer = post(client, DRIVERS["coinw"].alert(action="reverse", account="default,second"))
        redis.echo("end-of-intake")
        commands = []
        while (command := monitor.next_command())["command"] != "ECHO end-of-intake":
            commands.append(command)
    job_ids = [entry["job_id"] for entry in answer.json["jobs"]]
    from_client = [c for c in commands if c.get("client_type") != "lua"]
    connecting = ("PING", "HELLO", "CLIENT")  # a new connection's handshake
    others = [c["command"][:200] for c in from_client if c["command"].split()[0].upper() not in
              (*connecting, "EVALSHA", "SCRIPT")]
    assert others == []
    # the signal log's entry is a command of its own, after the jobs are written (tests/test_signal_log.py)
    (script,) = [c for c in from_client if c["command"].upper().startswith("EVALSHA") and "signals:" not in c["command"]]
    assert all(job_id in script["command"] for job_id in job_ids)
    lua = [c["command"] for c in commands if c.get("client_type") == "lua"]
    for job_id in job_ids:  # each job's hash is written inside that one script, and nowhere else
        assert any(command.startswith("HSET") and job_id in command for command in lua), job_id


# --- real worker processes ---

def test_real_worker_processes_perform_a_fan_out_with_each_accounts_credentials(client, simulator, settings):
    driver = DRIVERS["coinw"]
    driver.open(simulator, "long")
    driver.open(simulator, "short", account=SECOND)
    answer = post(client, driver.alert(action="reverse", account="default,second"))
    env = {**os.environ, "REDIS_URL": settings.redis_url, "COINW_BASE_URL": simulator.base_url,
           "COINW_API_KEY": DEMO_COINW_API_KEY, "COINW_SECRET_KEY": DEMO_COINW_SECRET_KEY,
           "COINW_ACCOUNTS": "second", "COINW_SECOND_API_KEY": SECOND_COINW.api_key,
           "COINW_SECOND_SECRET_KEY": SECOND_COINW.secret_key.reveal(), "COINW_FUNDING_TIMES": "none"}
    done = subprocess.run([sys.executable, "-m", "executor", "worker", "--burst"], env=env, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
    assert [job(client, entry["job_id"])["status"] for entry in answer.json["jobs"]] == ["finished", "finished"]
    assert driver.holding(simulator) == [("short", Decimal("10"))]
    assert driver.holding(simulator, SECOND) == [("long", Decimal("10"))]
    assert SECOND_COINW.secret_key.reveal() not in done.stderr + done.stdout
