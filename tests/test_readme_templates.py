"""The README's ready-to-paste TradingView messages, rendered as TradingView would, are accepted as they stand."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.conftest import WEBHOOK_SECRET
from tests.venue_drivers import all_venue_settings

README = Path(__file__).resolve().parent.parent / "README.md"
#: What TradingView puts in place of each placeholder, for a strategy's order fill on each venue's chart.
RENDERED = {"{{ticker}}": {"coinw": "BTCUSDT.P", "bitget": "BTCUSDT.P", "crosstrade": "ES1!"},
            "{{strategy.market_position}}": "short", "{{strategy.prev_market_position}}": "long",
            "{{strategy.order.id}}": "Reverse.Short", "{{timenow}}": "2026-01-31T12:00:00Z"}


def templates() -> list[str]:
    section = README.read_text().split("## TradingView templates", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```json\n(.*?)\n```", section, flags=re.S)


def test_the_readme_gives_a_strategy_template_for_each_venue():
    assert sorted(json.loads(text)["venue"] for text in templates()) == ["bitget", "coinw", "crosstrade"]


@pytest.mark.parametrize("template", templates(), ids=lambda text: json.loads(text)["venue"])
def test_a_readme_template_rendered_by_tradingview_is_accepted(client, app, settings, simulator, clock, template):
    app.extensions["executor"].settings = all_venue_settings(settings, simulator)
    clock.now = clock.now.replace(year=2026, month=1, day=31, hour=12, minute=0, second=5)
    venue = json.loads(template)["venue"]
    text = template.replace("YOUR_WEBHOOK_SECRET", WEBHOOK_SECRET)
    for placeholder, value in RENDERED.items():
        text = text.replace(placeholder, value[venue] if isinstance(value, dict) else value)
    answer = client.post("/webhook", data=text, content_type="text/plain")
    assert answer.status_code == 202, answer.json
    resent = client.post("/webhook", data=text, content_type="text/plain")
    assert resent.status_code == 200 and resent.json["job_id"] == answer.json["job_id"]


class _PineStr:
    """The one ``str.*`` function the README's Pine script calls."""

    @staticmethod
    def tostring(value: int, format: str) -> str:
        assert format == "#"
        return str(int(value))


def pine_message(venue: str, account: str, position: str, name: str) -> str:
    """The README script's ``target_alert`` body evaluated as TradingView would (its string expression is
    Python's too): the message its ``alert()`` call sends."""
    script = README.read_text().split("```pine\n", 1)[1].split("```", 1)[0]
    body = script.split("target_alert(position, name) =>\n", 1)[1].split("\n\n", 1)[0]
    expression = " ".join(line.strip() for line in body.splitlines())
    ticker = {"coinw": "BTCUSDT.P", "bitget": "BTCUSDT.P", "crosstrade": "ES1!"}[venue]
    scope = {"secret": WEBHOOK_SECRET, "venue": venue, "account": account, "position": position, "name": name,
             "syminfo": type("syminfo", (), {"ticker": ticker}), "time": 1769860800000, "str": _PineStr}
    return eval(expression, {"__builtins__": {}}, scope)  # noqa: S307 - the README's own expression


@pytest.mark.parametrize("venue, account", [("coinw", "default"), ("bitget", "default"), ("crosstrade", "Sim101")])
def test_the_readme_indicator_script_sends_a_message_that_is_accepted(client, app, settings, simulator, venue, account):
    app.extensions["executor"].settings = all_venue_settings(settings, simulator)
    text = pine_message(venue, account, "long", "ema-up")
    answer = client.post("/webhook", data=text, content_type="text/plain")
    assert answer.status_code == 202, (text, answer.json)
    assert json.loads(text)["id"] == "ema-up-1769860800000"
