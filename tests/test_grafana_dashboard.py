"""The Grafana dashboard in docs/ is valid JSON whose panels query the metrics the product exposes, all of them."""
from __future__ import annotations

import json
import re
from pathlib import Path

from executor.metrics.catalogue import CATALOGUE, GAUGES, HISTOGRAM

DASHBOARD = Path(__file__).resolve().parent.parent / "docs" / "grafana-dashboard.json"


def exposed_names() -> set[str]:
    names = set()
    for metric in (*CATALOGUE, *GAUGES):
        names |= {f"{metric.name}_{part}" for part in ("bucket", "sum", "count")} if metric.kind == HISTOGRAM \
            else {metric.name}
    return names


def test_the_dashboard_is_json_with_distinct_panels_each_placed_and_querying():
    dashboard = json.loads(DASHBOARD.read_text())
    panels = dashboard["panels"]
    assert dashboard["title"] and dashboard["uid"] and panels
    assert len({panel["id"] for panel in panels}) == len(panels)
    for panel in panels:
        assert {"h", "w", "x", "y"} <= set(panel["gridPos"]) and panel["targets"], panel["title"]
        for target in panel["targets"]:
            assert target["expr"].count("(") == target["expr"].count(")"), target["expr"]
            assert target["datasource"]["uid"] == "${DS_PROMETHEUS}"
    assert [entry["name"] for entry in dashboard["__inputs"]] == ["DS_PROMETHEUS"]


def test_the_dashboard_queries_only_real_metric_names_and_every_one_of_them():
    exprs = [target["expr"] for panel in json.loads(DASHBOARD.read_text())["panels"] for target in panel["targets"]]
    used = {name for expr in exprs for name in re.findall(r"\bexecutor_[a-z_]+", expr)}
    assert used <= exposed_names(), used - exposed_names()
    for metric in (*CATALOGUE, *GAUGES):
        assert any(name.startswith(metric.name) for name in used), f"{metric.name} is on no panel"
