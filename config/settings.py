"""Settings read once from the environment into a typed, frozen object.

A missing or invalid value raises ``SettingsError`` whose message names the
variable and never contains its value when the variable holds a secret.
"""
from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, Mapping, TypeVar

from config.accounts import (DEFAULT_ACCOUNT, ApiAccount, ApiAccountBook, load_api_accounts, load_listed_names,
                             ninjatrader_account)
from config.observability import Observability, load_observability
from config.secrets import Secret

if TYPE_CHECKING:
    from config.funding import FundingSchedule

T = TypeVar("T")

TRADINGVIEW_ADDRESSES = ("52.89.214.238", "34.212.75.30", "54.218.53.128", "52.32.178.7")

DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"


class SettingsError(ValueError):
    """A configuration value is missing or invalid; the process must not start."""


@dataclass(frozen=True)
class CoinWSettings(ApiAccountBook):
    VARIABLE_PREFIX = "COINW"
    CREDENTIAL_SUFFIXES = ("API_KEY", "SECRET_KEY")

    base_url: str = "https://api.coinw.com"
    api_key: str | None = None
    secret_key: Secret | None = None
    #: Named accounts besides the default one (``COINW_ACCOUNTS``), by lower-case name.
    accounts: Mapping[str, ApiAccount] = field(default_factory=dict)


@dataclass(frozen=True)
class BitgetSettings(ApiAccountBook):
    VARIABLE_PREFIX = "BITGET"
    CREDENTIAL_SUFFIXES = ("API_KEY", "SECRET_KEY", "PASSPHRASE")

    base_url: str = "https://api.bitget.com"
    api_key: str | None = None
    secret_key: Secret | None = None
    passphrase: Secret | None = None
    product_type: str = "USDT-FUTURES"
    margin_coin: str = "USDT"
    #: Named accounts besides the default one (``BITGET_ACCOUNTS``), by lower-case name.
    accounts: Mapping[str, ApiAccount] = field(default_factory=dict)


@dataclass(frozen=True)
class CrossTradeSettings:
    """One token; its accounts are NinjaTrader account names, which select nothing in the credentials."""

    base_url: str = "https://app.crosstrade.io"
    token: Secret | None = None
    account: str | None = None
    #: ``CROSSTRADE_ACCOUNTS``: the NinjaTrader accounts alerts may name; empty: any name.
    accounts: tuple[str, ...] = ()

    @property
    def configured(self) -> bool:
        return bool(self.token)

    def account_names(self) -> tuple[str, ...]:
        return ((DEFAULT_ACCOUNT,) if self.account else ()) + self.accounts

    def resolve_account(self, name: str | None) -> str | None:
        """The NinjaTrader account an alert names, as this server spells it (``config.accounts``)."""
        return ninjatrader_account(name, default=self.account, listed=self.accounts)

    def has_credentials(self, account: str | None) -> bool:
        return self.configured

    def credential_variables(self, account: str | None) -> tuple[str, ...]:
        return ("CROSSTRADE_TOKEN",)


def _default_funding() -> Mapping[str, FundingSchedule]:
    from config.funding import DEFAULT_SCHEDULES

    return DEFAULT_SCHEDULES


@dataclass(frozen=True)
class RetryPolicy:
    """Backoff for work the venue did not do (connection refused, 408, 429, maintenance)."""

    base_seconds: float = 1.0
    max_seconds: float = 60.0
    max_attempts: int = 8
    #: A rate-limit wait up to this long is waited in the worker; a longer one reschedules the job.
    rate_limit_max_wait: float = 2.0


@dataclass(frozen=True)
class Settings:
    redis_url: str = DEFAULT_REDIS_URL
    webhook_secret: Secret | None = None
    admin_token: Secret | None = None
    allowed_networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()
    trusted_proxies: int = 0
    max_alert_age: int = 300
    max_execution_delay: int = 900
    queue_name: str = "alerts"
    #: Days a finished or failed job (alert, attempts, result or error) stays in Redis, readable and replayable.
    job_retention_days: int = 7
    #: Seconds an alert without ``id`` is taken for a re-send of an identical body; 0: never.
    dedupe_window: int = 60
    #: Most entries the signal log keeps of accepted alerts, and as many again of refused ones.
    signal_log_max: int = 5000
    #: Days a signal log entry is kept.
    signal_log_days: int = 7
    coinw: CoinWSettings = field(default_factory=CoinWSettings)
    bitget: BitgetSettings = field(default_factory=BitgetSettings)
    crosstrade: CrossTradeSettings = field(default_factory=CrossTradeSettings)
    funding: Mapping[str, FundingSchedule] = field(default_factory=_default_funding)
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    #: Notifications, the metrics token and the log format (``config.observability``).
    observability: Observability = field(default_factory=Observability)

    def venue(self, name: str) -> CoinWSettings | BitgetSettings | CrossTradeSettings:
        venues: dict[str, CoinWSettings | BitgetSettings | CrossTradeSettings] = {
            "coinw": self.coinw, "bitget": self.bitget, "crosstrade": self.crosstrade}
        return venues[name]

    def venue_configured(self, name: str) -> bool:
        return self.venue(name).configured


def load_settings(env: Mapping[str, str] | None = None, *, require_webhook_secret: bool = False) -> Settings:
    """Build ``Settings`` from ``env`` (the process environment by default)."""
    from config.funding import load_funding_schedules

    env = os.environ if env is None else env
    reader = _Reader(env)
    _check_credentials_complete(env)
    _check_pool_limits(env)
    settings = Settings(
        redis_url=reader.text("REDIS_URL", DEFAULT_REDIS_URL, check=_check_redis_url),
        webhook_secret=reader.secret("WEBHOOK_SECRET", required=require_webhook_secret),
        admin_token=reader.secret("ADMIN_TOKEN"),
        allowed_networks=reader.parse("ALLOWED_IPS", (), _parse_allowed_ips),
        trusted_proxies=reader.parse("TRUSTED_PROXIES", 1 if env.get("DYNO") else 0, _non_negative_int),
        max_alert_age=reader.parse("MAX_ALERT_AGE", 300, _positive_int),
        max_execution_delay=reader.parse("MAX_EXECUTION_DELAY", 900, _positive_int),
        queue_name=reader.text("QUEUE_NAME", "alerts"),
        job_retention_days=reader.parse("JOB_RETENTION_DAYS", 7, _positive_int),
        dedupe_window=reader.parse("DEDUPE_WINDOW", 60, _dedupe_window),
        signal_log_max=reader.parse("SIGNAL_LOG_MAX", 5000, _signal_log_max),
        signal_log_days=reader.parse("SIGNAL_LOG_DAYS", 7, _positive_int),
        coinw=CoinWSettings(
            base_url=reader.text("COINW_BASE_URL", CoinWSettings.base_url, check=_check_http_url),
            api_key=reader.optional("COINW_API_KEY"),
            secret_key=reader.secret("COINW_SECRET_KEY"),
            accounts=_accounts(lambda: load_api_accounts("coinw", env, CoinWSettings.CREDENTIAL_SUFFIXES)),
        ),
        bitget=BitgetSettings(
            base_url=reader.text("BITGET_BASE_URL", BitgetSettings.base_url, check=_check_http_url),
            api_key=reader.optional("BITGET_API_KEY"),
            secret_key=reader.secret("BITGET_SECRET_KEY"),
            passphrase=reader.secret("BITGET_PASSPHRASE"),
            product_type=reader.text("BITGET_PRODUCT_TYPE", BitgetSettings.product_type),
            margin_coin=reader.text("BITGET_MARGIN_COIN", BitgetSettings.margin_coin),
            accounts=_accounts(lambda: load_api_accounts("bitget", env, BitgetSettings.CREDENTIAL_SUFFIXES)),
        ),
        crosstrade=CrossTradeSettings(
            base_url=reader.text("CROSSTRADE_BASE_URL", CrossTradeSettings.base_url, check=_check_http_url),
            token=reader.secret("CROSSTRADE_TOKEN"),
            account=reader.optional("CROSSTRADE_ACCOUNT"),
            accounts=_accounts(lambda: load_listed_names("CROSSTRADE_ACCOUNTS", env)),
        ),
        funding=load_funding_schedules(env),
        retry=RetryPolicy(
            base_seconds=reader.parse("RETRY_BACKOFF_BASE", 1.0, _positive_float),
            max_seconds=reader.parse("RETRY_BACKOFF_MAX", 60.0, _positive_float),
            max_attempts=reader.parse("RETRY_MAX_ATTEMPTS", 8, _positive_int),
            rate_limit_max_wait=reader.parse("RATE_LIMIT_MAX_WAIT", 2.0, _positive_float),
        ),
        observability=_observability(env),
    )
    return settings


#: Each venue's credential variables: set all of them, or none.
CREDENTIAL_VARIABLES = {
    "coinw": ("COINW_API_KEY", "COINW_SECRET_KEY"),
    "bitget": ("BITGET_API_KEY", "BITGET_SECRET_KEY", "BITGET_PASSPHRASE"),
}


def _check_credentials_complete(env: Mapping[str, str]) -> None:
    """A venue whose credentials are only partly set would fail its first trade: stop now, naming what is missing."""
    for names in CREDENTIAL_VARIABLES.values():
        given = [name for name in names if env.get(name, "").strip()]
        missing = [name for name in names if name not in given]
        if given and missing:
            raise SettingsError(f"{', '.join(missing)} not set while {', '.join(given)} is: set all of "
                                f"{', '.join(names)}, or none")


def _accounts(load: Callable[[], T]) -> T:
    """Named accounts (``config.accounts``), their problems as one ``SettingsError`` line naming the variable."""
    try:
        return load()
    except ValueError as exc:
        raise SettingsError(str(exc)) from None


def _observability(env: Mapping[str, str]) -> Observability:
    try:
        return load_observability(env)
    except ValueError as exc:  # names the variable, never a URL's text
        raise SettingsError(str(exc)) from None


def _check_pool_limits(env: Mapping[str, str]) -> None:
    """The ``*_POOL_LIMIT`` overrides, read again at each request, are checked once at start."""
    from config.ratelimits import pool_for

    for venue in ("coinw", "bitget", "crosstrade"):
        pool_for(venue, env)


@dataclass(frozen=True)
class WebSettings:
    """How gunicorn serves the web process."""

    host: str = "0.0.0.0"
    port: int = 8000
    processes: int = 2
    threads: int = 4


def load_web_settings(env: Mapping[str, str] | None = None) -> WebSettings:
    """``WEB_HOST``, ``PORT``, ``WEB_CONCURRENCY`` and ``WEB_THREADS``, each checked, naming the variable."""
    reader = _Reader(os.environ if env is None else env)
    return WebSettings(
        host=reader.text("WEB_HOST", WebSettings.host),
        port=reader.parse("PORT", WebSettings.port, _port),
        processes=reader.parse("WEB_CONCURRENCY", WebSettings.processes, _positive_int),
        threads=reader.parse("WEB_THREADS", WebSettings.threads, _positive_int),
    )


class _Reader:
    """Reads variables and turns every problem into one line naming the variable."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self._env = env

    def optional(self, name: str) -> str | None:
        value = self._env.get(name, "").strip()
        return value or None

    def text(self, name: str, default: str, check: Callable[[str], None] | None = None) -> str:
        value = self.optional(name) or default
        if check is not None:
            try:
                check(value)
            except ValueError as exc:
                raise SettingsError(f"{name}: {exc}") from None
        return value

    def secret(self, name: str, required: bool = False) -> Secret | None:
        value = self.optional(name)
        if value is None and required:
            raise SettingsError(f"{name} is required and not set")
        return Secret(value) if value is not None else None

    def parse(self, name: str, default: T, parser: Callable[[str], T]) -> T:
        value = self.optional(name)
        if value is None:
            return default
        try:
            return parser(value)
        except ValueError as exc:
            raise SettingsError(f"{name}: {exc}") from None


def _check_redis_url(value: str) -> None:
    if not value.startswith(("redis://", "rediss://", "unix://")):
        raise ValueError("must start with redis://, rediss:// or unix://")


def _check_http_url(value: str) -> None:
    if not value.startswith(("http://", "https://")):
        raise ValueError("must be an http:// or https:// URL")


def _positive_int(value: str) -> int:
    number = _non_negative_int(value)
    if number == 0:
        raise ValueError("must be a positive whole number")
    return number


def _dedupe_window(value: str) -> int:
    seconds = _non_negative_int(value)
    if seconds > 86400:
        raise ValueError("must be at most 86400 seconds (a day); alerts that repeat later need an id")
    return seconds


def _signal_log_max(value: str) -> int:
    entries = _positive_int(value)
    if entries > 1_000_000:
        raise ValueError("must be at most 1000000 entries (each may hold a few KiB of Redis memory)")
    return entries


def _port(value: str) -> int:
    number = _positive_int(value)
    if number > 65535:
        raise ValueError("must be a port number, 1 to 65535")
    return number


def _positive_float(value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise ValueError("must be a number of seconds") from None
    if not number > 0 or number == float("inf"):
        raise ValueError("must be a positive number of seconds")
    return number


def _non_negative_int(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise ValueError("must be a whole number") from None
    if number < 0:
        raise ValueError("must not be negative")
    return number


def _parse_allowed_ips(value: str) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    networks = []
    for item in (part.strip() for part in value.split(",")):
        if not item:
            continue
        if item.lower() == "tradingview":
            networks.extend(ipaddress.ip_network(address) for address in TRADINGVIEW_ADDRESSES)
            continue
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise ValueError(f"{item!r} is not an address, a network or the word tradingview") from None
    return tuple(networks)
