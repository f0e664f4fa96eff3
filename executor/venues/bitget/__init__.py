"""Bitget v2 mix futures (USDT-M perpetuals by default)."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from executor.symbols import bitget_symbol
from executor.venues.spec import VenueSpec

if TYPE_CHECKING:
    from config.settings import Settings
    from executor.venues.bitget.adapter import BitgetAdapter
    from executor.venues.transport import Transport

#: Alert fields Bitget has no use for: market orders only, positions named by symbol and side.
UNUSED_FIELDS = ("position_id", "price", "time_in_force", "limit_price", "stop_price", "order_type")

#: The values ``side`` may take: which position to act on when a long and a short are both open.
SIDES = ("long", "short")


def intake_errors(alert: dict[str, Any], settings: Settings) -> dict[str, list[str]]:
    """Bitget's own rules, checked at intake so a bad alert is answered, not failed later."""
    errors: dict[str, list[str]] = {}
    for name in UNUSED_FIELDS:
        if name in alert:
            errors[name] = ["Not used by Bitget."]
    if "side" in alert:
        side = str(alert["side"]).strip().lower()
        if side in SIDES:
            alert["side"] = side
        else:
            errors["side"] = ["Bitget takes side long or short (the position to act on in hedge mode)."]
    return errors


def build_adapter(settings: Settings, transport: Transport, account: str | None = None) -> BitgetAdapter:
    """The adapter of one account (None: the default one), signing with that account's keys and passphrase."""
    from executor.venues.bitget.adapter import BitgetAdapter
    from executor.venues.bitget.client import BitgetClient

    bitget = settings.bitget
    credentials = bitget.credentials(account)
    assert credentials is not None and credentials.passphrase, "the caller checks that the account is configured"
    client = BitgetClient(bitget.base_url, credentials.api_key, credentials.secret_key.reveal(),
                          credentials.passphrase.reveal(), transport, product_type=bitget.product_type,
                          margin_coin=bitget.margin_coin)
    return BitgetAdapter(client)


def metered_credential(settings: Settings, account: str | None = None) -> str:
    """The API key Bitget meters the account by (the shared limiter hashes it)."""
    credentials = settings.bitget.credentials(account)
    return credentials.api_key if credentials else ""


SPEC = VenueSpec(
    name="bitget",
    label="Bitget",
    credential_variables=("BITGET_API_KEY", "BITGET_SECRET_KEY", "BITGET_PASSPHRASE"),
    normalise_symbol=bitget_symbol,
    intake_errors=intake_errors,
    build_adapter=build_adapter,
    metered_credential=metered_credential,
)
