"""Settings from the environment: defaults, one clear line per bad value, no secret printed."""
from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from config.settings import SettingsError, WebSettings, load_settings, load_web_settings
from executor.localredis import free_port


def test_defaults_from_an_empty_environment():
    settings = load_settings({})
    assert settings.redis_url == "redis://127.0.0.1:6379/0"
    assert settings.max_alert_age == 300 and settings.trusted_proxies == 0
    assert settings.coinw.base_url == "https://api.coinw.com" and not settings.coinw.configured
    assert settings.admin_token is None and settings.allowed_networks == ()


def test_trusted_proxies_defaults_to_one_on_heroku():
    assert load_settings({"DYNO": "web.1"}).trusted_proxies == 1


def test_tradingview_word_expands_to_its_four_addresses():
    networks = load_settings({"ALLOWED_IPS": "tradingview, 192.0.2.0/24"}).allowed_networks
    assert [str(n) for n in networks] == ["52.89.214.238/32", "34.212.75.30/32", "54.218.53.128/32",
                                          "52.32.178.7/32", "192.0.2.0/24"]


@pytest.mark.parametrize("env, variable", [
    ({"MAX_ALERT_AGE": "soon"}, "MAX_ALERT_AGE"),
    ({"MAX_ALERT_AGE": "0"}, "MAX_ALERT_AGE"),
    ({"TRUSTED_PROXIES": "-1"}, "TRUSTED_PROXIES"),
    ({"ALLOWED_IPS": "not-an-ip"}, "ALLOWED_IPS"),
    ({"REDIS_URL": "http://x"}, "REDIS_URL"),
    ({"COINW_BASE_URL": "api.coinw.com"}, "COINW_BASE_URL"),
])
def test_invalid_value_names_the_variable(env, variable):
    with pytest.raises(SettingsError, match=variable):
        load_settings(env)


def test_web_process_requires_webhook_secret():
    with pytest.raises(SettingsError, match="WEBHOOK_SECRET is required"):
        load_settings({}, require_webhook_secret=True)


def test_secrets_never_show_in_a_repr():
    settings = load_settings({"WEBHOOK_SECRET": "s3cr3t-hook", "COINW_SECRET_KEY": "s3cr3t-key",
                              "ADMIN_TOKEN": "s3cr3t-admin", "COINW_API_KEY": "k"})
    text = repr(settings)
    assert "s3cr3t" not in text and "***" in text
    assert settings.webhook_secret.reveal() == "s3cr3t-hook"


def test_web_process_stops_at_start_with_one_line_naming_the_variable():
    env = {"PATH": "", "MAX_ALERT_AGE": "x", "WEBHOOK_SECRET": "never-printed-7731"}
    done = subprocess.run([sys.executable, "-m", "executor", "web"], env=env, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 3
    assert done.stderr.strip() == "configuration error: MAX_ALERT_AGE: must be a whole number"
    assert "never-printed-7731" not in done.stderr + done.stdout


@pytest.mark.parametrize("env, missing", [
    ({"COINW_API_KEY": "k"}, "COINW_SECRET_KEY"),
    ({"COINW_SECRET_KEY": "s3cr3t-only"}, "COINW_API_KEY"),
    ({"BITGET_API_KEY": "k", "BITGET_SECRET_KEY": "s3cr3t-b"}, "BITGET_PASSPHRASE"),
    ({"BITGET_PASSPHRASE": "s3cr3t-p"}, "BITGET_API_KEY, BITGET_SECRET_KEY"),
])
def test_a_venue_with_only_part_of_its_credentials_stops_the_process_naming_what_is_missing(env, missing):
    with pytest.raises(SettingsError) as raised:
        load_settings(env)
    assert str(raised.value).startswith(f"{missing} not set while") and "s3cr3t" not in str(raised.value)


@pytest.mark.parametrize("env, variable", [
    ({"COINW_POOL_LIMIT": "fast"}, "COINW_POOL_LIMIT"),
    ({"BITGET_POOL_LIMIT": "0"}, "BITGET_POOL_LIMIT"),
])
def test_a_pool_limit_is_checked_at_start_not_at_the_first_trade(env, variable):
    with pytest.raises(SettingsError, match=variable):
        load_settings(env)


@pytest.mark.parametrize("env, variable", [
    ({"PORT": "http"}, "PORT"), ({"PORT": "0"}, "PORT"), ({"PORT": "70000"}, "PORT"),
    ({"WEB_CONCURRENCY": "0"}, "WEB_CONCURRENCY"), ({"WEB_THREADS": "many"}, "WEB_THREADS"),
])
def test_the_web_servers_settings_name_the_variable_that_is_wrong(env, variable):
    with pytest.raises(SettingsError, match=f"^{variable}: "):
        load_web_settings(env)


def test_the_web_servers_settings_default_to_every_address_port_8000_two_processes_four_threads():
    assert load_web_settings({}) == WebSettings("0.0.0.0", 8000, 2, 4)


def one_line(argv: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    done = subprocess.run(argv, env={"PATH": os.environ.get("PATH", ""), **env}, capture_output=True, text=True,
                          timeout=60)
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    return done


def test_gunicorn_with_the_procfiles_command_stops_at_a_bad_port_with_one_line():
    done = one_line([sys.executable, "-m", "gunicorn", "-c", "config/gunicorn.py", "wsgi:app"],
                    {"PORT": "eighty", "WEBHOOK_SECRET": "never-printed-7731"})
    assert done.returncode == 3 and done.stderr.strip() == "configuration error: PORT: must be a whole number"


@pytest.mark.parametrize("env, line", [
    ({"WORKER_MODE": "threads"}, "configuration error: WORKER_MODE: must be one of simple, fork"),
    ({"COINW_API_KEY": "k"}, "configuration error: COINW_SECRET_KEY not set while COINW_API_KEY is: "),
    ({"COINW_POOL_LIMIT": "-3"}, "configuration error: COINW_POOL_LIMIT: must be at least 1 request per second"),
])
def test_a_worker_with_a_bad_setting_exits_3_with_one_line(env, line):
    done = one_line([sys.executable, "-m", "executor", "worker"], env)
    assert done.returncode == 3 and done.stderr.startswith(line)


def test_a_worker_that_cannot_reach_redis_exits_4_with_one_line_within_seconds():
    started = time.monotonic()
    done = one_line([sys.executable, "-m", "executor", "worker"],
                    {"REDIS_URL": f"redis://127.0.0.1:{free_port()}/0"})
    assert done.returncode == 4 and done.stderr.startswith("Redis unavailable (ConnectionError")
    assert time.monotonic() - started < 30


def test_the_signal_log_bounds_default_to_5000_entries_and_7_days_and_refuse_bad_values():
    settings = load_settings({})
    assert (settings.signal_log_max, settings.signal_log_days) == (5000, 7)
    assert load_settings({"SIGNAL_LOG_MAX": "200", "SIGNAL_LOG_DAYS": "2"}).signal_log_max == 200
    for variable, value in (("SIGNAL_LOG_MAX", "0"), ("SIGNAL_LOG_MAX", "2000000"), ("SIGNAL_LOG_DAYS", "week")):
        with pytest.raises(SettingsError, match=variable):
            load_settings({variable: value})
