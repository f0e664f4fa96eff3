"""The JSON shapes of the OpenAPI document (``executor.console.openapi``): what each answer holds."""
from __future__ import annotations

from typing import Any

from executor.console.joblist import STATUSES
from executor.console.signallog import OUTCOMES
from executor.domain import VENUES

TEXT = {"type": "string"}
MOMENT = {"type": "string", "format": "date-time"}
NULLABLE_TEXT = {"type": "string", "nullable": True}
NULLABLE_MOMENT = {**MOMENT, "nullable": True}
NULLABLE_MS = {"type": "number", "nullable": True, "description": "milliseconds; null where not known"}
ANY_OBJECT = {"type": "object", "additionalProperties": True}


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def obj(required: list[str], properties: dict[str, Any], **more: Any) -> dict[str, Any]:
    return {"type": "object", "required": required, "properties": properties, **more}


ALERT_FIELDS = {name: {"description": text} for name, text in {
    "secret": "the webhook secret (or the X-Webhook-Secret header)",
    "id": "idempotency key, 1-64 of A-Za-z0-9._:-", "venue": f"one of {', '.join(VENUES)}",
    "action": "reverse or close", "market_position": "long, short or flat (instead of action)",
    "prev_market_position": "with market_position: where the sender believes the position was",
    "symbol": "the instrument", "position_id": "CoinW: the position", "qty": "a size", "ratio": "close: (0, 1]",
    "price": "close: limit price", "side": "Bitget long/short; CrossTrade BUY/SELL", "account": "name(s)",
    "order_type": "CrossTrade", "time_in_force": "CrossTrade", "limit_price": "CrossTrade",
    "stop_price": "CrossTrade", "sent_at": "ISO 8601 or epoch seconds/ms"}.items()}

SCHEMAS: dict[str, Any] = {
    "Error": obj(["error"], {"error": TEXT}),
    "FieldErrors": obj(["error", "fields"], {"error": TEXT, "fields": {
        "type": "object", "additionalProperties": {"type": "array", "items": TEXT}}}),
    "Alert": {"type": "object", "properties": ALERT_FIELDS, "additionalProperties": True,
              "description": "see the README's 'The alert'; a field a venue does not use is refused (400)"},
    "JobRef": obj(["job_id", "status"], {"job_id": TEXT, "status": TEXT, "account": TEXT,
                                         "duplicate": {"type": "boolean"}}),
    "WebhookAnswer": {"type": "object", "properties": {
        "job_id": TEXT, "status": TEXT, "duplicate": {"type": "boolean"},
        "jobs": {"type": "array", "items": ref("JobRef")}},
        "description": "one account: job_id and status; several: jobs, one per account"},
    "Job": obj(["job_id", "status", "alert", "attempts", "events", "replays", "result", "error"], {
        "job_id": TEXT, "status": TEXT, "description": NULLABLE_TEXT,
        "alert": {**ANY_OBJECT, "nullable": True}, "received_at": NULLABLE_TEXT, "enqueued_at": NULLABLE_TEXT,
        "started_at": NULLABLE_TEXT, "ended_at": NULLABLE_TEXT,
        "attempts": {"type": "array", "items": ANY_OBJECT}, "events": {"type": "array", "items": ANY_OBJECT},
        "replays": {"type": "array", "items": ANY_OBJECT}, "result": {},
        "error": {**ANY_OBJECT, "nullable": True}, "deferred": {**ANY_OBJECT, "nullable": True},
        "timings": {**ANY_OBJECT, "nullable": True}, "stages": ref("Timings"),
        "replay": obj(["action", "force", "before"], {
            "action": {"type": "string", "enum": ["Replay", "Force replay"], "nullable": True},
            "force": {"type": "boolean"}, "before": NULLABLE_TEXT},
            description="whether the job can be replayed, and what the venue answered its last run")}),
    "Timings": obj(["received_at", "queued_ms", "started_ms", "first_request_ms", "answer_ms"], {
        "received_at": NULLABLE_TEXT, "queued_ms": NULLABLE_MS, "started_ms": NULLABLE_MS,
        "first_request_ms": NULLABLE_MS, "answer_ms": NULLABLE_MS}),
    "JobSummary": obj(["job_id", "status", "venue", "account", "symbol", "action", "timings"], {
        "job_id": TEXT, "status": {"type": "string", "enum": list(STATUSES) + ["stopped", "canceled", "unknown"]},
        "venue": NULLABLE_TEXT, "account": TEXT, "symbol": NULLABLE_TEXT, "raw_symbol": NULLABLE_TEXT,
        "action": NULLABLE_TEXT, "alert_id": NULLABLE_TEXT, "received_at": NULLABLE_TEXT,
        "enqueued_at": NULLABLE_TEXT, "started_at": NULLABLE_TEXT, "ended_at": NULLABLE_TEXT,
        "attempts": {"type": "integer"}, "outcome": NULLABLE_TEXT, "order_id": NULLABLE_TEXT,
        "error": {**ANY_OBJECT, "nullable": True}, "deferred": {**ANY_OBJECT, "nullable": True},
        "replays": {"type": "integer"}, "timings": ref("Timings")}),
    "JobPage": obj(["jobs", "next_cursor"], {"jobs": {"type": "array", "items": ref("JobSummary")},
                                            "next_cursor": NULLABLE_TEXT}),
    "SignalEntry": obj(["id", "at", "address", "route", "status", "outcome", "reason", "jobs"], {
        "id": TEXT, "at": MOMENT, "address": NULLABLE_TEXT, "route": TEXT, "status": {"type": "integer"},
        "outcome": {"type": "string", "enum": list(OUTCOMES)}, "reason": NULLABLE_TEXT,
        "fields": {"type": "object", "nullable": True, "additionalProperties": {"type": "array", "items": TEXT}},
        "jobs": {"type": "array", "items": ref("JobRef")}, "alert": {**ANY_OBJECT, "nullable": True},
        "excerpt": NULLABLE_TEXT, "size": {"type": "integer"},
        "lockout": {"type": "object", "nullable": True, "properties": {
            "failures": {"type": "integer"}, "until": MOMENT}}}),
    "AlertPage": obj(["alerts", "next_cursor"], {"alerts": {"type": "array", "items": ref("SignalEntry")},
                                                "next_cursor": NULLABLE_TEXT}),
    "Health": obj(["status"], {"status": {"type": "string", "enum": ["ok", "unavailable"]},
                               "workers": {"type": "integer"}, "oldest_waiting_seconds": {"type": "number"},
                               "redis": TEXT}),
    "Status": obj(["at", "workers", "queue", "deferred", "funding", "rate_limits"], {
        "at": MOMENT, "workers": {"type": "integer"},
        "queue": obj(["queued", "waiting", "oldest_waiting_seconds"], {
            "queued": {"type": "integer"}, "waiting": {"type": "integer"},
            "oldest_waiting_seconds": {"type": "number"}}),
        "deferred": {"type": "object", "additionalProperties": {"type": "integer"}},
        "funding": {"type": "array", "items": obj(["venue", "funding_at", "start", "end", "active"], {
            "venue": TEXT, "label": TEXT, "funding_at": MOMENT, "start": MOMENT, "end": MOMENT,
            "active": {"type": "boolean"}, "description": TEXT})},
        "rate_limits": {"type": "array", "items": obj(["venue", "key", "windows", "penalty_seconds"], {
            "venue": TEXT, "key": {"type": "string", "description": "a digest of the credential, never it"},
            "penalty_seconds": {"type": "number"},
            "windows": {"type": "array", "items": obj(["name", "used"], {
                "name": TEXT, "used": {"type": "integer"}, "limit": {"type": "integer", "nullable": True},
                "period_seconds": {"type": "number", "nullable": True}})}})}}),
}
