"""The alert's shape, checked with marshmallow. Venue-specific rules live with each venue."""
from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, pre_load, validate, validates_schema

from executor.domain import ACTIONS, MARKET_POSITIONS
from executor.venues import VENUE_SPECS

ID_PATTERN = r"^[A-Za-z0-9._:-]{1,64}$"
PLACEHOLDER = "{{"
MAX_TEXT = 200
#: No venue quantity or price comes near these; beyond them a number is a broken alert, refused at once.
NUMBER_LIMIT = Decimal("1e15")
MAX_DECIMAL_PLACES = 18
#: Most accounts one alert may name: a fan-out beyond this is a broken alert, not a trader's setup.
MAX_ACCOUNTS = 20
#: Fields that shape a single action; a target position is reached by reversing or closing the whole
#: position at market, so an alert with ``market_position`` refuses them.
ACTION_ONLY_FIELDS = ("qty", "ratio", "price", "side", "position_id", "order_type", "time_in_force",
                      "limit_price", "stop_price")


class Number(fields.Field):
    """A JSON number or a numeric string, kept as an exact ``Decimal``; booleans are refused."""

    default_error_messages = {"invalid": "Not a number.", "special": "Must be a finite number.",
                              "too_large": "Must be less than 10^15.",
                              "too_precise": f"At most {MAX_DECIMAL_PLACES} decimal places."}

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Decimal:
        if isinstance(value, bool) or not isinstance(value, (int, float, str, Decimal)):
            raise self.make_error("invalid")
        try:
            number = Decimal(str(value).strip())
        except InvalidOperation:
            raise self.make_error("invalid") from None
        if not number.is_finite():
            raise self.make_error("special")
        if abs(number) >= NUMBER_LIMIT:
            raise self.make_error("too_large")
        if number and number.normalize().as_tuple().exponent < -MAX_DECIMAL_PLACES:
            raise self.make_error("too_precise")
        return number


def _text(*, required: bool = False, **kwargs: Any) -> fields.String:
    return fields.String(required=required, validate=validate.Length(min=1, max=MAX_TEXT), **kwargs)


POSITIVE = validate.Range(min=0, min_inclusive=False, error="Must be greater than 0.")
TARGET = validate.OneOf(MARKET_POSITIONS, error="Unknown position; one of: {choices}.")


class Accounts(fields.Field):
    """One account name, a comma-separated list of names or a JSON array of names: a tuple of names."""

    default_error_messages = {
        "invalid": "One account name, a comma-separated list of names or a JSON array of names.",
        "empty": "An empty account name.", "too_long": f"An account name longer than {MAX_TEXT} characters.",
        "too_many": f"At most {MAX_ACCOUNTS} accounts.", "twice": "Names account {name} twice.",
    }

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> tuple[str, ...]:
        if isinstance(value, str):
            names = [part.strip() for part in value.split(",")]
        elif isinstance(value, list) and all(isinstance(item, str) for item in value):
            names = [item.strip() for item in value]
        else:
            raise self.make_error("invalid")
        if not names or any(not name for name in names):
            raise self.make_error("empty")
        if any(len(name) > MAX_TEXT for name in names):
            raise self.make_error("too_long")
        if len(names) > MAX_ACCOUNTS:
            raise self.make_error("too_many")
        seen: set[str] = set()
        for name in names:
            if name.casefold() in seen:
                raise self.make_error("twice", name=name)
            seen.add(name.casefold())
        return tuple(names)


class AlertSchema(Schema):
    """Everything an alert may carry. Unknown fields are refused, so a typo is an answer, not a silent drop."""

    class Meta:
        unknown = RAISE

    secret = fields.String(load_only=True)
    id = fields.String(validate=validate.Regexp(ID_PATTERN, error="1-64 characters of A-Za-z0-9._:-"))
    venue = fields.String(required=True, validate=validate.OneOf(tuple(VENUE_SPECS), error="Unknown venue; one of: {choices}."))
    action = fields.String(validate=validate.OneOf(ACTIONS, error="Unknown action; one of: {choices}."))
    market_position = fields.String(validate=TARGET)
    prev_market_position = fields.String(validate=TARGET)
    symbol = _text(required=True)
    position_id = fields.String(validate=validate.Regexp(r"^[0-9]{1,40}$", error="Digits only."))
    qty = Number(validate=POSITIVE)
    ratio = Number(validate=validate.Range(min=0, max=1, min_inclusive=False, error="Must be in (0, 1]."))
    price = Number(validate=POSITIVE)
    side = _text()
    account = Accounts()
    order_type = _text()
    time_in_force = _text()
    limit_price = Number(validate=POSITIVE)
    stop_price = Number(validate=POSITIVE)
    sent_at = fields.Raw()

    @pre_load
    def normalise(self, data: Any, **kwargs: Any) -> Any:
        """Refuse unrendered placeholders, lower-case the words, and accept numeric ids."""
        if not isinstance(data, dict):
            raise ValidationError("The alert must be a JSON object.", field_name="_schema")
        _refuse_placeholders(data)
        out = dict(data)
        for name in ("venue", "action", "market_position", "prev_market_position"):
            if isinstance(out.get(name), str):
                out[name] = out[name].strip().lower()
        for name in ("id", "position_id"):
            if isinstance(out.get(name), int) and not isinstance(out.get(name), bool):
                out[name] = str(out[name])
        return out

    @validates_schema
    def check_combinations(self, data: dict[str, Any], **kwargs: Any) -> None:
        errors = _target_errors(data)
        if "qty" in data and "ratio" in data:
            errors.setdefault("ratio", []).append("Give qty or ratio, not both.")
        if data.get("action") == "reverse":
            for name in ("ratio", "price"):
                if name in data:
                    errors.setdefault(name, []).append("Only a close takes this field.")
        if errors:
            raise ValidationError(errors)


def _target_errors(data: dict[str, Any]) -> dict[str, list[str]]:
    """An alert carries an action or a target position, never both; the fields of an action only with one."""
    if "action" in data and "market_position" in data:
        both = ["Give action or market_position, not both."]
        return {"action": list(both), "market_position": list(both)}
    if "market_position" not in data:
        errors = {} if "action" in data else {
            "action": ["Give action (reverse or close) or market_position (long, short or flat)."]}
        if "prev_market_position" in data:
            errors["prev_market_position"] = ["Only with market_position."]
        return errors
    return {name: ["A target position (market_position) is reached by reversing or closing the whole position "
                   "at market: leave this field out."] for name in ACTION_ONLY_FIELDS if name in data}


def _refuse_placeholders(data: dict[str, Any]) -> None:
    errors = {
        key: ["Contains an unrendered placeholder ({{...}}); check the alert message."]
        for key, value in data.items()
        if key != "secret" and isinstance(value, str) and PLACEHOLDER in value
    }
    if errors:
        raise ValidationError(errors)
