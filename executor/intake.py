"""From the bytes of a webhook to a validated ``Alert``, or a clear reason why not."""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any, Callable

from marshmallow import ValidationError

from config.secrets import Secret
from config.settings import Settings
from executor.accounts import Account, alert_accounts
from executor.domain import Alert
from executor.errors import BadAlert, NotAuthenticated
from executor.schemas import AlertSchema
from executor.symbols import is_valid_instrument
from executor.venues import get_venue
from executor.venues.spec import VenueSpec

SCHEMA = AlertSchema()
#: Alerts dated this far in the future come from a broken clock, not from a sender.
MAX_FUTURE_SKEW = timedelta(seconds=60)


@dataclass(frozen=True)
class Intake:
    """A validated alert, one per account it names, and the body it came in (secret removed), for deduplication.

    ``several`` is true when the alert named more than one account: it is answered with the list of jobs.
    """

    alerts: tuple[Alert, ...]
    body: dict[str, Any]
    several: bool = False

    @property
    def alert(self) -> Alert:
        """The alert of a single-account intake (of several, the first)."""
        return self.alerts[0]


def parse_body(raw: bytes) -> dict[str, Any]:
    """The alert body as a JSON object, whatever the Content-Type said."""
    try:
        body = json.loads(raw.decode("utf-8"), parse_float=Decimal)
    except UnicodeDecodeError:
        raise BadAlert("The body is not UTF-8 text.", {"_body": ["Not UTF-8."]}) from None
    except json.JSONDecodeError as exc:
        raise BadAlert("The body is not JSON.", {"_body": [f"Not JSON: {exc.msg} at position {exc.pos}."]}) from None
    except ValueError:  # an integer longer than Python reads (4,300 digits)
        raise BadAlert("The body is not an alert.", {"_body": ["A number too long to read."]}) from None
    except RecursionError:  # json's decoder recurses once per level of nesting
        raise BadAlert("The body is not an alert.", {"_body": ["JSON nested too deep to read."]}) from None
    if not isinstance(body, dict):
        raise BadAlert("The body must be a JSON object.", {"_body": ["Not a JSON object."]})
    return body


def authenticate(body: dict[str, Any], header_secret: str | None, expected: Secret | None) -> None:
    """Check the secret from the body or the header, in constant time, without saying which failed."""
    given = body.get("secret", header_secret)
    if expected is None or not isinstance(given, str) or not expected.matches(given):
        raise NotAuthenticated("missing or wrong secret")


def validate_alert(body: dict[str, Any], settings: Settings, now: datetime) -> Intake:
    """Schema, accounts, venue rules, symbol, age and credentials; every problem reported by field."""
    try:
        data = SCHEMA.load(body)
    except ValidationError as exc:
        raise BadAlert("The alert is invalid.", _as_field_errors(exc.messages)) from None
    data.pop("secret", None)
    names: tuple[str, ...] = data.pop("account", ())
    spec = get_venue(data["venue"])
    if not settings.venue_configured(spec.name):
        raise _not_configured(spec, names)
    accounts, account_problems = alert_accounts(spec, names, settings)
    errors: dict[str, list[str]] = {"account": account_problems} if account_problems else {}
    if "sent_at" in data:
        errors.update(_age_errors(data, settings.max_alert_age, now))
    alerts = [_for_account(spec, data, account, settings, errors) for account in accounts or [None]]
    if errors:
        raise BadAlert("The alert is invalid.", errors)
    body = {key: value for key, value in body.items() if key != "secret"}
    return Intake(tuple(Alert(**fields) for fields in alerts), body, several=len(names) > 1)


def _for_account(spec: VenueSpec, data: dict[str, Any], account: Account, settings: Settings,
                 errors: dict[str, list[str]]) -> dict[str, Any]:
    """The alert's fields for one account, after the venue's own rules (which may fill in defaults)."""
    fields = {**data, "action": data.get("action")}
    if account is not None:
        fields["account"] = account
    for name, messages in spec.intake_errors(fields, settings).items():
        known = errors.setdefault(name, [])
        known.extend(message for message in messages if message not in known)
    raw_symbol = fields["symbol"]
    fields["symbol"] = spec.normalise_symbol(raw_symbol)
    if not is_valid_instrument(fields["symbol"]):
        message = f"{raw_symbol!r} is not a {spec.label} instrument."
        if message not in errors.get("symbol", []):
            errors.setdefault("symbol", []).append(message)
    if raw_symbol != fields["symbol"]:
        fields["raw_symbol"] = raw_symbol
    return fields


def _not_configured(spec: VenueSpec, names: tuple[str, ...]) -> BadAlert:
    message = f"{spec.label} is not configured on this server (set {', '.join(spec.credential_variables)})."
    fields = {"venue": [message]}
    if names:
        fields["account"] = [f"No {spec.label} account is configured on this server: {', '.join(names)}."]
    return BadAlert(f"{spec.label} is not configured on this server.", fields)


def _age_errors(data: dict[str, Any], max_age: int, now: datetime) -> dict[str, list[str]]:
    try:
        sent_at = parse_time(data["sent_at"])
    except ValueError as exc:
        return {"sent_at": [str(exc)]}
    data["sent_at"] = sent_at.isoformat().replace("+00:00", "Z")
    age = now - sent_at
    if age > timedelta(seconds=max_age):
        return {"sent_at": [f"The alert is {int(age.total_seconds())} s old; older than MAX_ALERT_AGE ({max_age} s)."]}
    if -age > MAX_FUTURE_SKEW:
        return {"sent_at": [f"The alert is dated {int(-age.total_seconds())} s in the future."]}
    return {}


def parse_time(value: Any) -> datetime:
    """An ISO 8601 time (TradingView's ``{{timenow}}``) or epoch seconds or milliseconds, as aware UTC."""
    if isinstance(value, (int, Decimal)) and not isinstance(value, bool) or (isinstance(value, str) and value.isdigit()):
        seconds = Decimal(str(value))
        if seconds > 10**11:
            seconds /= 1000
        try:
            return datetime.fromtimestamp(float(seconds), tz=timezone.utc)
        except (OverflowError, OSError, ValueError):  # beyond what the platform's clock can hold
            raise ValueError("Not a time: out of range for epoch seconds or milliseconds.") from None
    if not isinstance(value, str):
        raise ValueError("Not a time.")
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ValueError("Not a time; expected ISO 8601 such as 2026-01-31T12:00:00Z.") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed.astimezone(timezone.utc)


def _as_field_errors(messages: Any) -> dict[str, list[str]]:
    if isinstance(messages, dict):
        return {str(key): value if isinstance(value, list) else [str(value)] for key, value in messages.items()}
    return {"_schema": [str(message) for message in messages]}


Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(timezone.utc)
