"""Settings from the environment: defaults, one clear line per bad value, no secret printed."""
from __future__ import annotations

import subprocess
import sys

import pytest

from config.settings import SettingsError, load_settings


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
