"""Several accounts per venue from the environment: ``<VENUE>_ACCOUNTS`` and each account's credential variables;
every problem stops the process at start with one line naming the variable, never printing a secret."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from config.settings import SettingsError, load_settings

COINW_TWO = {"COINW_ACCOUNTS": "main, Hedge", "COINW_MAIN_API_KEY": "main-key",
             "COINW_MAIN_SECRET_KEY": "s3cr3t-main", "COINW_HEDGE_API_KEY": "hedge-key",
             "COINW_HEDGE_SECRET_KEY": "s3cr3t-hedge"}


def test_named_accounts_are_read_case_insensitively_beside_the_default_one():
    settings = load_settings({**COINW_TWO, "COINW_API_KEY": "default-key", "COINW_SECRET_KEY": "s3cr3t-d"})
    coinw = settings.coinw
    assert coinw.account_names() == ("default", "main", "hedge")
    assert coinw.resolve_account("HEDGE") == "hedge" and coinw.resolve_account("Default") is None
    assert coinw.credentials("hedge").api_key == "hedge-key"
    assert coinw.credentials("hedge").secret_key.reveal() == "s3cr3t-hedge"
    assert coinw.credentials(None).api_key == "default-key"
    assert "s3cr3t" not in repr(settings)


def test_named_accounts_alone_configure_a_venue_that_then_has_no_default_account():
    coinw = load_settings(COINW_TWO).coinw
    assert coinw.configured and not coinw.default_configured
    assert coinw.account_names() == ("main", "hedge") and coinw.credentials(None) is None


def test_a_bitget_account_needs_its_passphrase_too():
    bitget = load_settings({"BITGET_ACCOUNTS": "sub1", "BITGET_SUB1_API_KEY": "k", "BITGET_SUB1_SECRET_KEY": "s",
                            "BITGET_SUB1_PASSPHRASE": "p"}).bitget
    assert bitget.credentials("sub1").passphrase.reveal() == "p"


def test_crosstrade_accounts_are_ninjatrader_names_under_the_one_token():
    crosstrade = load_settings({"CROSSTRADE_TOKEN": "t", "CROSSTRADE_ACCOUNT": "Sim101",
                                "CROSSTRADE_ACCOUNTS": "Sim102, APEX-123-01"}).crosstrade
    assert crosstrade.account_names() == ("default", "Sim102", "APEX-123-01")
    assert crosstrade.resolve_account("apex-123-01") == "APEX-123-01"
    assert crosstrade.resolve_account("default") == crosstrade.resolve_account("sim101") == "Sim101"


@pytest.mark.parametrize("env, line", [
    ({"COINW_ACCOUNTS": "main", "COINW_MAIN_API_KEY": "k"},
     "COINW_MAIN_SECRET_KEY not set: account main, listed in COINW_ACCOUNTS, needs all of COINW_MAIN_API_KEY, "
     "COINW_MAIN_SECRET_KEY"),
    ({"COINW_ACCOUNTS": "main", "COINW_MAIN_SECRET_KEY": "s3cr3t"},
     "COINW_MAIN_API_KEY not set: account main, listed in COINW_ACCOUNTS"),
    ({"COINW_ACCOUNTS": "main"}, "COINW_MAIN_API_KEY, COINW_MAIN_SECRET_KEY not set: account main"),
    ({"BITGET_ACCOUNTS": "sub1", "BITGET_SUB1_API_KEY": "k", "BITGET_SUB1_SECRET_KEY": "s3cr3t"},
     "BITGET_SUB1_PASSPHRASE not set: account sub1, listed in BITGET_ACCOUNTS"),
    ({"COINW_SPARE_API_KEY": "k", "COINW_SPARE_SECRET_KEY": "s3cr3t"},
     "COINW_SPARE_API_KEY is set but SPARE is not listed in COINW_ACCOUNTS"),
    ({"COINW_ACCOUNTS": "main,default"}, "COINW_ACCOUNTS: the account named default is COINW_API_KEY"),
    ({"COINW_ACCOUNTS": "main,Main"}, "COINW_ACCOUNTS: 'Main' is listed twice"),
    ({"COINW_ACCOUNTS": "my-account"}, "COINW_ACCOUNTS: 'my-account' is not an account name"),
    ({"DEDUPE_WINDOW": "-1"}, "DEDUPE_WINDOW: must not be negative"),
    ({"DEDUPE_WINDOW": "a minute"}, "DEDUPE_WINDOW: must be a whole number"),
    ({"DEDUPE_WINDOW": "86401"}, "DEDUPE_WINDOW: must be at most 86400"),
])
def test_a_bad_account_setting_stops_the_process_naming_the_variable(env, line):
    with pytest.raises(SettingsError) as raised:
        load_settings(env)
    assert str(raised.value).startswith(line) and "s3cr3t" not in str(raised.value)


def test_dedupe_window_defaults_to_60_seconds_and_0_turns_it_off():
    assert load_settings({}).dedupe_window == 60
    assert load_settings({"DEDUPE_WINDOW": "0"}).dedupe_window == 0


def test_a_worker_with_an_account_missing_a_credential_exits_3_with_one_line_naming_it():
    env = {"PATH": os.environ.get("PATH", ""), "BITGET_ACCOUNTS": "sub1", "BITGET_SUB1_API_KEY": "k",
           "BITGET_SUB1_PASSPHRASE": "never-printed-5521"}
    done = subprocess.run([sys.executable, "-m", "executor", "worker"], env=env, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 3
    assert done.stderr.strip().splitlines() == [
        "configuration error: BITGET_SUB1_SECRET_KEY not set: account sub1, listed in BITGET_ACCOUNTS, needs all "
        "of BITGET_SUB1_API_KEY, BITGET_SUB1_SECRET_KEY, BITGET_SUB1_PASSPHRASE"]
    assert "never-printed-5521" not in done.stderr + done.stdout
