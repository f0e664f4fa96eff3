"""The contract a venue module fulfils to plug into the simulator.

A module brings a Flask blueprint with its wire endpoints, a ``VenueSpec``
(how it authenticates, renders answers and errors, and its rate limits) and a
few hooks the control API needs (credential fields, how a position looks on
its wire). The generic gateway does the rest: logging, faults, limits.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Mapping

if TYPE_CHECKING:
    from flask import Blueprint
    from werkzeug.datastructures import Headers

    from executor.simulator.faults import FaultRule
    from executor.simulator.limits import RateLimit
    from executor.simulator.models import Position
    from executor.simulator.requestlog import RequestRecord
    from executor.simulator.state import SimulatorState


class VenueError(Exception):
    """A venue's error answer: its own ``code`` and text, sent with HTTP ``status``."""

    def __init__(self, code: int | str, message: str, status: int = 200) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


@dataclass
class VenueCall:
    """One venue request as the handlers see it: raw wire text plus who sent it."""

    state: SimulatorState
    venue: str
    method: str
    path: str
    query: str
    body: str
    headers: Headers
    record: RequestRecord
    account: str | None = None


@dataclass
class Reply:
    """What goes back on the wire; ``drop`` means no answer at all."""

    status: int | None
    body: str = ""
    content_type: str = "application/json"
    code: int | str | None = None
    drop: bool = False


@dataclass(frozen=True)
class VenueSpec:
    """How the gateway treats one venue's requests."""

    name: str
    authenticate: Callable[[VenueCall], str]
    """Returns the account the request belongs to, or raises ``VenueError``."""
    success: Callable[[VenueCall, Any], Reply]
    failure: Callable[[VenueCall, VenueError], Reply]
    rate_limit_error: Callable[[], VenueError]
    funding_error: Callable[[FaultRule], VenueError]
    log_identity: Callable[[Headers], str | None]
    """The account shown in the request log; must never be a secret."""
    limits: Mapping[str, RateLimit] = field(default_factory=dict)
    """Rate limits per endpoint, keyed "METHOD /path", per account."""


@dataclass(frozen=True)
class VenueModule:
    """A venue plugged into the simulator app."""

    spec: VenueSpec
    blueprint: Blueprint
    credential_fields: tuple[str, ...]
    """Fields ``POST /_sim/credentials`` requires; the first is the identity."""
    present_position: Callable[[Position], dict[str, Any]]
    """A position as the venue shows it on its wire."""
    install: Callable[[SimulatorState], None] = lambda state: None
    """Called once per app: registers the venue's always-present credentials."""

    @property
    def name(self) -> str:
        return self.spec.name
