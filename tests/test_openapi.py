"""The OpenAPI document is true: schemathesis drives the real web process (gunicorn, Redis, the simulator)
through every documented operation and checks every answer against the document; none is a 5xx."""
from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import (content_type_conformance, negative_data_rejection, not_a_server_error,
                                 response_headers_conformance, response_schema_conformance,
                                 status_code_conformance)

from executor.console.openapi import document
from tests.conftest import ADMIN_TOKEN, WEBHOOK_SECRET
from tests.webprocess import WebProcess

pytestmark = [pytest.mark.slow]

#: Examples per operation: with 14 operations, a few hundred requests in all, well under a minute.
EXAMPLES_PER_OPERATION = 25
HEADERS = {"Authorization": f"Bearer {ADMIN_TOKEN}", "X-Webhook-Secret": WEBHOOK_SECRET}
#: gunicorn's longest request line (``limit_request_line``); a longer one is refused before the app.
GUNICORN_REQUEST_LINE = 4094
#: What each operation answered during the run, by status.
ANSWERS: dict[str, Counter[int]] = {}
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_headers_conformance,
          response_schema_conformance, negative_data_rejection]


@pytest.fixture(scope="module")
def web(redis_url, simulator_server, tmp_path_factory) -> WebProcess:
    with WebProcess(redis_url, simulator_server.base_url, Path(tmp_path_factory.mktemp("web")) / "web.log") as web:
        yield web


# The document the code builds, read without a server; the first test checks the served one is the same.
schema = schemathesis.openapi.from_dict(document())


def test_the_served_document_is_the_one_the_code_builds(web):
    served = requests.get(f"{web.url}/openapi.json", timeout=5).json()
    assert served == document() and served["openapi"].startswith("3.")
    assert {"/webhook", "/jobs", "/jobs/{job_id}", "/jobs/{job_id}/replay", "/alerts", "/healthz", "/status",
            "/openapi.json", "/dashboard", "/dashboard/sign-in", "/dashboard/sign-out"} <= set(served["paths"])


@schema.parametrize()
@settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
def test_every_answer_is_documented_and_none_is_a_server_error(case, web, simulator_server):
    response = case.call(base_url=web.url, headers=HEADERS, timeout=10, allow_redirects=False)
    request_line = f"{response.request.method} {response.request.path_url} HTTP/1.1"
    if len(request_line.encode()) > GUNICORN_REQUEST_LINE:  # refused by gunicorn before the app sees it:
        assert response.status_code in (400, 414)  # 414 since gunicorn 23, 400 before
    else:
        case.validate_response(response, checks=CHECKS)
    ANSWERS.setdefault(f"{case.method} {case.path}", Counter())[response.status_code] += 1


def test_the_run_reached_the_answers_that_matter():
    """Not only refusals: the run above queued alerts and read every list (a run that only met 400s and 401s
    would prove little)."""
    assert sum(ANSWERS.values(), Counter())[500] == 0
    assert ANSWERS["POST /webhook"][202] + ANSWERS["POST /webhook"][200] >= 1, ANSWERS
    for operation in ("GET /jobs", "GET /alerts", "GET /status", "GET /healthz", "GET /dashboard"):
        assert ANSWERS[operation][200] >= 1, (operation, ANSWERS[operation])
    assert sum(ANSWERS["GET /jobs"].values()) + sum(ANSWERS["POST /webhook"].values()) >= 2 * 10
