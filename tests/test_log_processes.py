"""A job's life in the logs of real processes (the web under gunicorn, a worker, the simulator), in both
formats: every line is one event in the one format, and ``grep <job id>`` tells each job's story."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import requests

from executor.jobview import fetch_job, status_word
from tests.conftest import WEBHOOK_SECRET
from tests.processes import WorkerProcesses, wait_until, worker_environment
from tests.simulatorprocess import SimulatorProcess
from tests.webprocess import WebProcess
from tests.test_logs import JSON_FIELDS, TEXT_LINE

pytestmark = [pytest.mark.slow, pytest.mark.e2e]


def parse(log: str, log_format: str) -> list[dict]:
    """Each line as {time, level, role, logger, job_id, message}; a line out of format fails the test."""
    entries = []
    for line in log.splitlines():
        if log_format == "json":
            entry = json.loads(line)
            assert JSON_FIELDS <= set(entry) and entry["time"].endswith("Z"), line
        else:
            match = TEXT_LINE.match(line)
            assert match, f"not in the product's format: {line!r}"
            head, _, message = line.partition(": ")
            job = re.search(r" job=(\S+) ", head + " ")
            entry = {"time": line[:24], "level": match.group(1), "role": match.group(2),
                     "job_id": job.group(1) if job else None, "logger": head.rsplit(" ", 1)[1], "message": message}
        entries.append(entry)
    return entries


def story(entries: list[dict], job_id: str) -> list[tuple[str, str]]:
    """(role, event word) of every line about the job, in time order: what ``grep <job id>`` shows."""
    about = [entry for entry in entries if entry.get("job_id") == job_id or job_id in entry["message"]]
    return [(entry["role"], re.split(r"[: ]", entry["message"], maxsplit=1)[0])
            for entry in sorted(about, key=lambda entry: entry["time"])]


def post(web: WebProcess, **fields) -> str:
    answer = requests.post(f"{web.url}/webhook", json={"secret": WEBHOOK_SECRET, "venue": "coinw", **fields},
                           timeout=5)
    assert answer.status_code == 202, answer.text
    return answer.json()["job_id"]


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_a_jobs_life_is_told_line_by_line_in_one_format_by_every_process(log_format, redis, redis_url, tmp_path):
    base = {**worker_environment(redis_url, "http://unused"), "LOG_FORMAT": log_format,
            "WEBHOOK_SECRET": WEBHOOK_SECRET}
    with SimulatorProcess(base, tmp_path / "simulator.log") as simulator:
        env = {**base, "COINW_BASE_URL": simulator.base_url}
        with WebProcess(redis_url, simulator.base_url, tmp_path / "web.log", LOG_FORMAT=log_format) as web, \
                WorkerProcesses(env, 1, tmp_path) as workers:
            reversed_ = post(web, action="reverse", symbol="BTCUSDT.P")  # the demo's BTC long of 10
            failing = post(web, action="close", symbol="ETH")  # no ETH position
            assert wait_until(lambda: [status_word(fetch_job(redis, job)) for job in (reversed_, failing)] == [
                "finished", "failed"], 20), workers.logs()  # before the fault below, meant for the next job
            requests.post(f"{simulator.base_url}/_sim/faults", timeout=5, json={
                "venue": "coinw", "kind": "http_error", "status": 503, "path": "/v1/perpum/positions",
                "method": "GET"})
            retried = post(web, action="close", symbol="BTC", qty=1)
            done = [reversed_, failing, retried]
            assert wait_until(lambda: all(status_word(fetch_job(redis, job)) in ("finished", "failed")
                                          for job in done), 30), workers.logs()
    web_log = web.log_path.read_text()
    entries = [*parse(web_log, log_format), *parse(Path(workers.directory).joinpath(
        next(p.name for p in Path(workers.directory).glob("test-worker-*.log"))).read_text(), log_format),
        *parse(simulator.log(), log_format)]

    assert story(entries, reversed_) == [("web", "received"), ("web", "queued"), ("worker", "Worker"),
                                         ("worker", "coinw"), ("worker", "sent"), ("worker", "coinw"),
                                         ("worker", "answered"), ("worker", "finished")]
    assert story(entries, failing)[-1] == ("worker", "failed")
    assert story(entries, retried) == [
        ("web", "received"), ("web", "queued"), ("worker", "Worker"), ("worker", "coinw"), ("worker", "deferred"),
        ("worker", "Worker"), ("worker", "coinw"), ("worker", "sent"), ("worker", "coinw"), ("worker", "answered"),
        ("worker", "finished")]
    sent = next(entry for entry in entries if entry.get("job_id") == retried and entry["message"].startswith("sent"))
    assert sent["message"] == "sent: coinw DELETE /v1/perpum/positions (close)"
    deferred = next(entry for entry in entries if entry.get("job_id") == retried
                    and entry["message"].startswith("deferred"))
    assert deferred["message"].endswith("; 7 retries left")
    answered = next(entry["message"] for entry in entries if entry.get("job_id") == reversed_
                    and entry["message"].startswith("answered"))
    assert re.fullmatch(r"answered: order \d+; reverse long 10 BTC", answered)

    everything = web_log + workers.logs() + simulator.log()
    assert "Traceback" not in everything and "remaining" not in everything
    assert "Successfully completed" not in everything
    loggers = {entry["logger"] for entry in entries}
    assert {"gunicorn.error", "rq.worker", "executor.simulator.access"} <= loggers
    assert any(entry["role"] == "simulator" and "POST /v1/perpum/positions/reverse" in entry["message"]
               for entry in entries)
