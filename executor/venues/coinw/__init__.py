"""CoinW perpetual futures."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from executor.symbols import coinw_instrument
from executor.venues.spec import VenueSpec

if TYPE_CHECKING:
    from config.settings import Settings
    from executor.venues.coinw.adapter import CoinWAdapter
    from executor.venues.transport import Transport


def intake_errors(alert: dict[str, Any], settings: Settings) -> dict[str, list[str]]:
    """CoinW's own rules, checked at intake so a bad alert is answered, not failed later."""
    errors: dict[str, list[str]] = {}
    if alert["action"] == "reverse" and "qty" in alert:
        errors["qty"] = ["CoinW reverses the whole position; leave qty out."]
    for name in ("side", "order_type", "time_in_force", "limit_price", "stop_price"):
        if name in alert:
            errors[name] = ["Not used by CoinW."]
    return errors


def build_adapter(settings: Settings, transport: Transport, account: str | None = None) -> CoinWAdapter:
    """The adapter of one account (None: the default one), signing with that account's keys."""
    from executor.venues.coinw.adapter import CoinWAdapter
    from executor.venues.coinw.client import CoinWClient

    credentials = settings.coinw.credentials(account)
    assert credentials is not None, "the caller checks that the account is configured"
    return CoinWAdapter(CoinWClient(settings.coinw.base_url, credentials.api_key, credentials.secret_key.reveal(),
                                    transport))


def metered_credential(settings: Settings, account: str | None = None) -> str:
    """The API key CoinW meters the account by (the shared limiter hashes it)."""
    credentials = settings.coinw.credentials(account)
    return credentials.api_key if credentials else ""


SPEC = VenueSpec(
    name="coinw",
    label="CoinW",
    credential_variables=("COINW_API_KEY", "COINW_SECRET_KEY"),
    normalise_symbol=coinw_instrument,
    intake_errors=intake_errors,
    build_adapter=build_adapter,
    metered_credential=metered_credential,
)
