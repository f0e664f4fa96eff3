"""The alert's shape, checked with marshmallow. Venue-specific rules live with each venue."""
from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, pre_load, validate, validates_schema

from executor.domain import ACTIONS
from executor.venues import VENUE_SPECS

ID_PATTERN = r"^[A-Za-z0-9._:-]{1,64}$"
PLACEHOLDER = "{{"
MAX_TEXT = 200
#: No venue quantity or price comes near these; beyond them a number is a broken alert, refused at once.
NUMBER_LIMIT = Decimal("1e15")
MAX_DECIMAL_PLACES = 18


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


class AlertSchema(Schema):
    """Everything an alert may carry. Unknown fields are refused, so a typo is an answer, not a silent drop."""

    class Meta:
        unknown = RAISE

    secret = fields.String(load_only=True)
    id = fields.String(validate=validate.Regexp(ID_PATTERN, error="1-64 characters of A-Za-z0-9._:-"))
    venue = fields.String(required=True, validate=validate.OneOf(tuple(VENUE_SPECS), error="Unknown venue; one of: {choices}."))
    action = fields.String(required=True, validate=validate.OneOf(ACTIONS, error="Unknown action; one of: {choices}."))
    symbol = _text(required=True)
    position_id = fields.String(validate=validate.Regexp(r"^[0-9]{1,40}$", error="Digits only."))
    qty = Number(validate=POSITIVE)
    ratio = Number(validate=validate.Range(min=0, max=1, min_inclusive=False, error="Must be in (0, 1]."))
    price = Number(validate=POSITIVE)
    side = _text()
    account = _text()
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
        for name in ("venue", "action"):
            if isinstance(out.get(name), str):
                out[name] = out[name].strip().lower()
        for name in ("id", "position_id"):
            if isinstance(out.get(name), int) and not isinstance(out.get(name), bool):
                out[name] = str(out[name])
        return out

    @validates_schema
    def check_combinations(self, data: dict[str, Any], **kwargs: Any) -> None:
        errors: dict[str, list[str]] = {}
        if "qty" in data and "ratio" in data:
            errors["ratio"] = ["Give qty or ratio, not both."]
        if data.get("action") == "reverse":
            for name in ("ratio", "price"):
                if name in data:
                    errors.setdefault(name, []).append("Only a close takes this field.")
        if errors:
            raise ValidationError(errors)


def _refuse_placeholders(data: dict[str, Any]) -> None:
    errors = {
        key: ["Contains an unrendered placeholder ({{...}}); check the alert message."]
        for key, value in data.items()
        if key != "secret" and isinstance(value, str) and PLACEHOLDER in value
    }
    if errors:
        raise ValidationError(errors)
