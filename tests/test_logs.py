"""Logs a person reads: one format for every process, a job's life line by line, RQ's lines kept to what is
true and not said twice. (With real web, worker and simulator processes: ``test_log_processes.py``.)"""
from __future__ import annotations

import json
import logging
import re

from executor import logs, rqlogs
from tests.coinw import REVERSE, add_fault, open_position, send, view
from tests.test_execution import release_scheduled

TEXT_LINE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (DEBUG|INFO|WARNING|ERROR|CRITICAL) "
                       r"(web|worker|simulator)\[\d+\] (job=\S+ )?[\w.]+: .+$")
JSON_FIELDS = {"time", "level", "role", "pid", "logger", "message"}


def record(message: str, *args, job_id: str | None = None, **fields) -> logging.LogRecord:
    entry = logging.LogRecord("executor.test", logging.WARNING, __file__, 1, message, args, None)
    entry.created = 1_767_225_600.25  # 2026-01-01T00:00:00.250Z
    if job_id:
        entry.job_id = job_id
    if fields:
        entry.fields = fields
    return entry


def test_a_line_is_utc_iso_with_role_pid_job_and_logger_and_json_has_the_same_fields():
    text = logs.make_formatter("worker", "text").format(record("failed: %s", "no position", job_id="alert-1"))
    assert re.fullmatch(r"2026-01-01T00:00:00\.250Z WARNING worker\[\d+\] job=alert-1 executor\.test: "
                        r"failed: no position", text)
    entry = json.loads(logs.make_formatter("worker", "json").format(
        record("failed: %s", "no position", job_id="alert-1", event="failed", code=10001)))
    assert entry == {"time": "2026-01-01T00:00:00.250Z", "level": "WARNING", "role": "worker",
                     "pid": entry["pid"], "logger": "executor.test", "job_id": "alert-1",
                     "message": "failed: no position", "event": "failed", "code": 10001}


def test_a_line_written_while_a_job_runs_names_the_job():
    logs.set_job("alert-running")
    try:
        text = logs.make_formatter("worker", "text").format(record("coinw GET positions -> 200"))
    finally:
        logs.set_job(None)
    assert " job=alert-running executor.test: " in text


def test_every_known_secret_is_masked_in_both_formats():
    logs.mask_secrets(["s3cr3t-hook-value", "tok-123456789"])
    line = record("body had %s and %s", "s3cr3t-hook-value", "tok-123456789")
    for log_format in ("text", "json"):
        written = logs.make_formatter("web", log_format).format(line)
        assert "s3cr3t" not in written and "tok-123456789" not in written and "***" in written


def test_an_expected_failure_is_one_line_without_a_traceback(client, simulator, run_jobs, caplog):
    job_id = send(client, action="close", symbol="ETH")  # no ETH position: PositionNotFound
    with caplog.at_level(logging.INFO):
        run_jobs()
    assert view(client, job_id)["status"] == "failed"
    problems = [entry for entry in caplog.records if entry.levelno >= logging.WARNING]
    assert [entry.getMessage() for entry in problems] == [
        f"failed: PositionNotFound: CoinW has no open ETH position; replay: executor jobs replay {job_id}"]
    assert not any("Traceback" in entry.getMessage() or entry.exc_info for entry in caplog.records)
    assert any(entry.name == "rq.worker" and job_id in entry.getMessage() for entry in caplog.records), \
        "RQ's line taking the job is kept"


def test_a_bug_keeps_its_traceback_from_rq(client, simulator, run_jobs, caplog, monkeypatch):
    def broken(adapter, alert, attempt):
        raise KeyError("a bug")

    monkeypatch.setattr("executor.execution._perform", broken)
    open_position(simulator)
    job_id = send(client)
    with caplog.at_level(logging.INFO):
        run_jobs()
    ours = [entry.getMessage() for entry in caplog.records if entry.name == "executor.joblife"]
    assert ours == [f"failed: KeyError: unexpected KeyError: 'a bug'; replay: executor jobs replay {job_id} "
                    f"(a bug: its traceback follows)"]
    (traceback,) = [entry for entry in caplog.records if entry.name == "rq.worker" and "Traceback" in
                    entry.getMessage()]
    assert "KeyError: 'a bug'" in traceback.getMessage()


def test_a_retry_says_the_real_retries_left_and_rq_says_nothing_of_999999(client, simulator, run_jobs, caplog):
    open_position(simulator)
    add_fault(simulator, path="/v1/perpum/positions", method="GET", kind="http_error", status=503)
    job_id = send(client)
    with caplog.at_level(logging.INFO):
        run_jobs()
    assert view(client, job_id)["status"] == "deferred"
    (deferred,) = [entry.getMessage() for entry in caplog.records if entry.getMessage().startswith("deferred")]
    assert re.fullmatch(r"deferred: venue_error until \S+: coinw 503: HTTP 503 on a read; 7 retries left", deferred)
    assert not any("remaining" in entry.getMessage() for entry in caplog.records)


def test_a_success_says_order_side_and_size_and_rq_does_not_say_it_again(client, simulator, run_jobs, caplog):
    open_position(simulator, "long", "10")
    job_id = send(client)
    with caplog.at_level(logging.INFO):
        run_jobs()
    order_id = view(client, job_id)["result"]["order_id"]
    lines = [entry.getMessage() for entry in caplog.records if entry.name == "executor.joblife"]
    assert lines == [f"answered: order {order_id}; reverse long 10 BTC", f"finished: sent (order {order_id})"]
    assert not any("Successfully completed" in entry.getMessage() or "Job OK" in entry.getMessage()
                   for entry in caplog.records)


def test_rq_still_words_a_jobs_lines_as_the_filter_expects(client, simulator, run_jobs, caplog, monkeypatch):
    """Without the filter, RQ writes the lines the product replaces, naming the job as the filter reads it.
    An RQ release that words them otherwise fails here."""
    open_position(simulator)
    failing = send(client, action="close", symbol="ETH")
    add_fault(simulator, path=REVERSE, kind="drop", when="before")
    retried = send(client)
    open_position(simulator, instrument="LTC")
    succeeding = send(client, symbol="LTC")
    monkeypatch.setattr(rqlogs, "install", lambda: None)
    loggers = [logging.getLogger(name) for name in rqlogs.RQ_LOGGERS]
    for logger in loggers:
        logger.removeFilter(rqlogs._FILTER)
    try:
        with caplog.at_level(logging.INFO):
            run_jobs()
    finally:
        monkeypatch.undo()
        rqlogs.install()
    (failure,) = [entry for entry in caplog.records if entry.name == "rq.worker" and entry.levelno == logging.ERROR]
    assert failure.job_id == failing and "Traceback" in failure.getMessage()
    assert "PositionNotFound" in failure.getMessage()
    (retry,) = [entry for entry in caplog.records if "remaining" in entry.getMessage()]
    assert retry.name == "rq.job" and retry.args[0] == retried and "999999 remaining" in retry.getMessage()
    assert view(client, succeeding)["status"] == "finished"
    assert any(entry.name == "rq.worker" and "Successfully completed" in entry.getMessage() for entry in caplog.records)


def test_the_filter_drops_rqs_lines_about_the_told_job_only_and_keeps_its_other_errors():
    rqlogs.concluded("alert-x")
    try:
        kept = rqlogs.AlreadyTold()
        error = logging.LogRecord("rq.worker", logging.ERROR, __file__, 1, "boom %s", ("alert-x",), None)
        assert kept.filter(error), "an RQ error about the job that is not its traceback record passes"
        error.job_id = "alert-x"
        assert not kept.filter(error)
        other = logging.LogRecord("rq.worker", logging.INFO, __file__, 1, "job %s", ("alert-y",), None)
        assert kept.filter(other)
    finally:
        rqlogs.job_over()


def test_a_rejection_fails_in_one_line_with_the_venues_code(client, simulator, run_jobs, caplog):
    open_position(simulator)
    add_fault(simulator, path=REVERSE, kind="reject", code=9111, message="symbol not tradeable")
    job_id = send(client)
    with caplog.at_level(logging.INFO):
        run_jobs()
    problems = [entry for entry in caplog.records if entry.levelno >= logging.WARNING]
    assert [entry.getMessage() for entry in problems] == [
        f"failed: VenueRejected: coinw 9111: symbol not tradeable [venue's code 9111]; "
        f"replay: executor jobs replay {job_id}"]
    assert problems[0].fields == {"event": "failed", "outcome": "failed", "error": "VenueRejected", "code": 9111}


def test_a_lost_answer_is_reconciled_in_the_log_with_its_verdict(client, simulator, run_jobs, caplog, redis,
                                                                 settings):
    open_position(simulator)
    add_fault(simulator, path=REVERSE, kind="drop", when="after")
    job_id = send(client)
    with caplog.at_level(logging.INFO):
        run_jobs()
        release_scheduled(redis, settings)
        run_jobs()
    lines = [entry.getMessage() for entry in caplog.records if entry.name == "executor.joblife"]
    assert lines[0].startswith("deferred: outcome_unknown until ") and lines[0].endswith("; 7 retries left")
    assert lines[1:] == ["reconciled: found already done on the venue", "finished: found already done on the venue"]
    assert view(client, job_id)["status"] == "finished"
