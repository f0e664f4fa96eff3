"""CrossTrade: futures on NinjaTrader 8 through the CrossTrade add-on (REST, bearer token)."""
from __future__ import annotations

from typing import TYPE_CHECKING

from executor.venues.crosstrade.instruments import instrument_key
from executor.venues.crosstrade.rules import intake_errors
from executor.venues.spec import VenueSpec

if TYPE_CHECKING:
    from config.settings import Settings
    from executor.venues.crosstrade.adapter import CrossTradeAdapter
    from executor.venues.transport import Transport


def build_adapter(settings: Settings, transport: Transport, account: str | None = None) -> CrossTradeAdapter:
    """The adapter under the one token; ``account`` (a NinjaTrader account) selects no credentials, and each
    request names its account itself."""
    from executor.venues.crosstrade.adapter import CrossTradeAdapter
    from executor.venues.crosstrade.client import CrossTradeClient

    crosstrade = settings.crosstrade
    assert crosstrade.token
    return CrossTradeAdapter(CrossTradeClient(crosstrade.base_url, crosstrade.token.reveal(), transport))


def metered_credential(settings: Settings, account: str | None = None) -> str:
    """The token CrossTrade meters by, whatever the account (the shared limiter hashes it; never log it)."""
    token = settings.crosstrade.token
    return token.reveal() if token else ""


SPEC = VenueSpec(
    name="crosstrade",
    label="CrossTrade",
    credential_variables=("CROSSTRADE_TOKEN",),
    normalise_symbol=instrument_key,
    intake_errors=intake_errors,
    build_adapter=build_adapter,
    metered_credential=metered_credential,
)

__all__ = ["SPEC"]
