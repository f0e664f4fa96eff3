"""What the intake and the worker need to know of a venue, declared once per venue."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Protocol

if TYPE_CHECKING:
    from config.settings import Settings
    from executor.domain import ActionResult, Alert, Position
    from executor.venues.transport import Transport


class VenueAdapter(Protocol):
    """The domain face of a venue: perform one alert's action, in our own types."""

    def perform(self, alert: Alert, journal: Journal) -> ActionResult: ...

    def reconcile(self, alert: Alert, in_flight: dict[str, Any]) -> ActionResult | None:
        """After a lost answer: the action's result if the venue shows it done, None if it shows it not done.

        Raises ``OutcomeUnknown`` when the venue's state cannot tell.
        """
        ...

    def open_positions(self, alert: Alert) -> list[Position]:
        """Every open position of the alert's instrument (in its account), as the venue reports it; empty
        when flat. A read only: what a target position (``market_position``) is decided from."""
        ...


class Journal(Protocol):
    """Where an action records what it saw before sending, for the job's history and for reconciliation."""

    @property
    def idempotency_key(self) -> str:
        """The same for every attempt of one job: the base of a client order id, where a venue takes one."""
        ...

    def note(self, key: str, value: Any) -> None: ...

    def sending(self, what: dict[str, Any]) -> None:
        """Called just before a request that acts, with what reconciliation will need."""
        ...


class AdapterBuilder(Protocol):
    """Builds the adapter of one account (None: the venue's default one) from that account's credentials."""

    def __call__(self, settings: Settings, transport: Transport, account: str | None = None) -> VenueAdapter: ...


class MeteredCredential(Protocol):
    """The credential the venue meters an account's rate limits by (an API key or token), from the settings."""

    def __call__(self, settings: Settings, account: str | None = None) -> str: ...


@dataclass(frozen=True)
class VenueSpec:
    name: str
    label: str
    credential_variables: tuple[str, ...]
    normalise_symbol: Callable[[str], str]
    #: The venue's own rules at intake: may fill in defaults (e.g. the account); returns errors by field.
    intake_errors: Callable[[dict[str, Any], Settings], dict[str, list[str]]]
    build_adapter: AdapterBuilder
    metered_credential: MeteredCredential
