"""The OpenAPI document is true: schemathesis drives the real web process (gunicorn, Redis, the simulator)
through every documented operation and checks every answer against the document; none is a 5xx."""
from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import APIOperation, Case, GenerationMode
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


def test_every_answer_is_documented_none_is_a_server_error_and_the_run_reached_real_answers(web):
    """Every operation, with valid and with invalid data; then, not only refusals: the run queued alerts and
    read every list (a run that only met 400s and 401s would prove little)."""
    answers: dict[str, Counter[int]] = {}
    for result in schema.get_all_operations():
        exercise(result.ok(), GenerationMode.POSITIVE, web, answers)
        try:
            exercise(result.ok(), GenerationMode.NEGATIVE, web, answers)
        except Unsatisfiable:  # an operation that takes no input has no invalid input to send
            pass
    assert sum(answers.values(), Counter())[500] == 0
    assert answers["POST /webhook"][202] + answers["POST /webhook"][200] >= 1, answers
    for operation in ("GET /jobs", "GET /alerts", "GET /status", "GET /healthz", "GET /dashboard"):
        assert answers[operation][200] >= 1, (operation, answers[operation])
    assert sum(answers["GET /jobs"].values()) + sum(answers["POST /webhook"].values()) >= 2 * 10


def exercise(operation: APIOperation, mode: GenerationMode, web: WebProcess, answers: dict[str, Counter[int]]) -> None:
    """EXAMPLES_PER_OPERATION cases of ``operation`` in ``mode``, each sent to the web process and checked."""

    @settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    @given(case=operation.as_strategy(generation_mode=mode))
    def send(case: Case) -> None:
        response = case.call(base_url=web.url, headers=HEADERS, timeout=10, allow_redirects=False)
        request_line = f"{response.request.method} {response.request.path_url} HTTP/1.1"
        if len(request_line.encode()) > GUNICORN_REQUEST_LINE:  # refused by gunicorn before the app sees it:
            assert response.status_code in (400, 414)  # 414 since gunicorn 23, 400 before
        else:
            case.validate_response(response, checks=CHECKS)
        answers.setdefault(f"{case.method} {case.path}", Counter())[response.status_code] += 1

    send()
