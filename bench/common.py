"""Shared helpers of the benchmarks: private services, waiting, percentiles, results.

Every service a benchmark needs is started here on loopback and on free ports:
a private redis-server (``executor.localredis``), the venue simulator
(``executor simulate``), gunicorn with the Procfile's settings
(``-c config/gunicorn.py``, bound to 127.0.0.1) and RQ workers
(``executor worker``), all with the demo environment
(``executor.demo.demo_environment``). ``Stack.stop()`` ends them all, also on
Ctrl-C, SIGTERM or an error (use ``with Stack(...) as stack:``).
"""
from __future__ import annotations

import json
import math
import os
import platform
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, Any, Callable, Iterable, Sequence, TypeVar

import requests

from executor.demo import DEMO_ADMIN_TOKEN, DEMO_SECRET, demo_environment
from executor.localredis import LocalRedis, free_port, start_local_redis
from executor.simulator import DEMO_COINW_API_KEY

ROOT = Path(__file__).resolve().parent.parent
RESULTS_DIR = ROOT / "bench" / "results"
LOG_DIR = RESULTS_DIR / "logs"
PYTHON = sys.executable
#: Longest wait for a service to answer after it was started.
START_TIMEOUT_S = 30.0
#: Longest wait for a service to end after SIGTERM before it is killed.
STOP_TIMEOUT_S = 10.0
COINW_POSITIONS = "/v1/perpum/positions"
COINW_REVERSE = "/v1/perpum/positions/reverse"
#: Answer header in which bench/wsgi_timed.py returns the arrival stamp.
ARRIVAL_HEADER = "X-Bench-Arrival"

T = TypeVar("T")
#: Load average when the benchmark started (1, 5, 15 min): other work on the machine shows here.
LOAD_AT_START = [round(x, 2) for x in os.getloadavg()] if hasattr(os, "getloadavg") else None


# ---------------------------------------------------------------------------
# signals


def exit_on_sigterm() -> None:
    """SIGTERM (and SIGHUP) raise KeyboardInterrupt, so ``finally`` blocks stop what was started."""
    def _raise(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, _raise)
    signal.signal(signal.SIGHUP, _raise)


# ---------------------------------------------------------------------------
# services


@dataclass
class Service:
    label: str
    process: subprocess.Popen
    log: IO[bytes]


@dataclass
class Stack:
    """The private services of one benchmark. Processes get their own session (Ctrl-C reaches only us)."""

    name: str
    web_port: int = field(default_factory=free_port)
    sim_port: int = field(default_factory=free_port)
    redis: LocalRedis | None = None
    services: list[Service] = field(default_factory=list)

    # -- lifecycle
    def __enter__(self) -> Stack:
        LOG_DIR.mkdir(parents=True, exist_ok=True)
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def web_url(self) -> str:
        return f"http://127.0.0.1:{self.web_port}"

    @property
    def sim_url(self) -> str:
        return f"http://127.0.0.1:{self.sim_port}"

    def env(self, **extra: str) -> dict[str, str]:
        if self.redis is None:
            raise RuntimeError("start Redis first")
        env = demo_environment(self.redis.url, self.web_port, self.sim_port)
        env.pop("WORKER_MODE", None)
        # No funding windows: a run that crossed a CoinW funding time (00:00, 08:00, 16:00 UTC) would
        # measure the jobs rightly held back for about 70 s, not the signal path.
        env["COINW_FUNDING_TIMES"] = "none"
        env["PYTHONUNBUFFERED"] = "1"
        env.update(extra)
        return env

    def start_redis(self) -> str:
        self.redis = start_local_redis()
        return self.redis.url

    def start_simulator(self) -> None:
        self._spawn("simulator", [PYTHON, "-m", "executor", "simulate", "--host", "127.0.0.1",
                                  "--port", str(self.sim_port), "--no-demo"], self.env())
        wait_http(f"{self.sim_url}/_sim/health")

    def start_web(self, app: str = "wsgi:app", **env: str) -> None:
        """gunicorn with the Procfile's config file; only the bind address is overridden (loopback)."""
        self._spawn("web", [PYTHON, "-m", "gunicorn", "-c", "config/gunicorn.py",
                            "-b", f"127.0.0.1:{self.web_port}", app], self.env(**env))
        wait_http(f"{self.web_url}/healthz")

    def start_workers(self, count: int, mode: str = "simple") -> list[Service]:
        started = [self._spawn(f"worker-{mode}-{i}", [PYTHON, "-m", "executor", "worker",
                                                      "--name", f"bench-{self.name}-{mode}-{i}-{os.getpid()}"],
                               self.env(WORKER_MODE=mode)) for i in range(count)]
        conn = self.redis_client()
        # A worker is ready once it registered itself in Redis (RQ's worker registry).
        from rq import Worker

        wait_until(lambda: sum(1 for w in Worker.all(connection=conn)
                               if w.name.startswith(f"bench-{self.name}-{mode}-")) >= count,
                   START_TIMEOUT_S, what=f"{count} {mode} workers to register")
        for service in started:
            if service.process.poll() is not None:
                raise RuntimeError(f"{service.label} exited with {service.process.returncode}; see its log")
        return started

    def stop_services(self, prefix: str) -> None:
        """Stop (SIGTERM, then SIGKILL after a bound) every service whose label starts with ``prefix``."""
        chosen = [s for s in self.services if s.label.startswith(prefix)]
        for service in chosen:
            _signal_group(service.process, signal.SIGTERM)
        for service in chosen:
            try:
                service.process.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                _signal_group(service.process, signal.SIGKILL)
                service.process.wait(timeout=STOP_TIMEOUT_S)
            service.log.close()
            self.services.remove(service)

    def stop(self) -> None:
        for prefix in ("worker", "web", "simulator"):
            try:
                self.stop_services(prefix)
            except Exception as exc:  # keep stopping the rest
                print(f"warning: stopping {prefix}: {exc}", file=sys.stderr)
        if self.redis is not None:
            self.redis.stop()
            self.redis = None

    def redis_client(self):  # type: ignore[no-untyped-def]
        from executor.redis_client import connect

        if self.redis is None:
            raise RuntimeError("Redis is not running")
        return connect(self.redis.url)

    def _spawn(self, label: str, argv: list[str], env: dict[str, str]) -> Service:
        log = open(LOG_DIR / f"{self.name}-{label}.log", "wb")
        process = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL, start_new_session=True)
        service = Service(label, process, log)
        self.services.append(service)
        return service


def _signal_group(process: subprocess.Popen, signum: int) -> None:
    """Signal the process group we created for this service (it includes RQ's work horses, gunicorn's workers)."""
    if process.poll() is not None and signum == signal.SIGTERM:
        return
    try:
        os.killpg(process.pid, signum)
    except ProcessLookupError:
        pass


# ---------------------------------------------------------------------------
# waiting


def wait_until(predicate: Callable[[], T], timeout: float, interval: float = 0.05, what: str = "a condition") -> T:
    """Call ``predicate`` until it returns something truthy; TimeoutError after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise TimeoutError(f"waited {timeout:.0f} s for {what}")
        time.sleep(interval)


def wait_http(url: str, timeout: float = START_TIMEOUT_S) -> None:
    def answers() -> bool:
        try:
            return requests.get(url, timeout=1).status_code == 200
        except requests.RequestException:
            return False

    wait_until(answers, timeout, interval=0.1, what=url)


# ---------------------------------------------------------------------------
# the simulator's control API


class Simulator:
    def __init__(self, base_url: str) -> None:
        self.base = base_url
        self.http = requests.Session()

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.http.request(method, f"{self.base}{path}", timeout=10, **kwargs)
        response.raise_for_status()
        return response.json()

    def reset(self) -> None:
        self._call("POST", "/_sim/reset")

    def open_position(self, instrument: str, direction: str = "long", size: str = "10") -> dict[str, Any]:
        return self._call("POST", "/_sim/positions", json={
            "venue": "coinw", "api_key": DEMO_COINW_API_KEY, "instrument": instrument,
            "direction": direction, "size": size})

    def positions(self, instrument: str | None = None) -> list[dict[str, Any]]:
        params = {"venue": "coinw", **({"instrument": instrument} if instrument else {})}
        return self._call("GET", "/_sim/positions", params=params)["positions"]

    def requests(self, since: int = 0) -> list[dict[str, Any]]:
        return self._call("GET", "/_sim/requests", params={"venue": "coinw", "since": since})["requests"]

    def stats(self) -> dict[str, Any]:
        return self._call("GET", "/_sim/stats", params={"venue": "coinw"})


# ---------------------------------------------------------------------------
# alerts and jobs


def alert_body(symbol: str, action: str = "reverse", alert_id: str | None = None) -> bytes:
    """A CoinW alert as TradingView would post it (text/plain JSON)."""
    body: dict[str, Any] = {"secret": DEMO_SECRET, "venue": "coinw", "action": action, "symbol": symbol}
    if alert_id is not None:
        body["id"] = alert_id
    return json.dumps(body).encode()


def admin_headers() -> dict[str, str]:
    return {"Authorization": f"Bearer {DEMO_ADMIN_TOKEN}"}


def iso_to_epoch(text: str | None) -> float | None:
    if not text:
        return None
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:  # RQ keeps naive UTC
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.timestamp()


# ---------------------------------------------------------------------------
# statistics


def percentile(ordered: Sequence[float], p: float) -> float:
    """Linear interpolation between closest ranks (numpy's default) on sorted values."""
    if not ordered:
        return math.nan
    rank = (len(ordered) - 1) * p / 100
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def summarize(values: Iterable[float], digits: int = 3) -> dict[str, float | int]:
    """n, min, mean, p50, p90, p99, max of the values (rounded)."""
    ordered = sorted(values)
    if not ordered:
        return {"n": 0}
    out: dict[str, float | int] = {"n": len(ordered), "min": ordered[0], "mean": sum(ordered) / len(ordered)}
    for p in (50, 90, 99):
        out[f"p{p}"] = percentile(ordered, p)
    out["max"] = ordered[-1]
    return {k: (round(v, digits) if isinstance(v, float) else v) for k, v in out.items()}


def max_in_window(times: Iterable[float], period: float) -> int:
    """Most of ``times`` inside any window ``(t - period, t]`` (the simulator's rule)."""
    ordered = sorted(times)
    best = start = 0
    for end, moment in enumerate(ordered):
        while ordered[start] <= moment - period:
            start += 1
        best = max(best, end - start + 1)
    return best


def windows_over(times: Iterable[float], period: float, limit: int) -> int:
    """How many windows ``(t - period, t]`` ending at a request hold more than ``limit`` requests."""
    ordered = sorted(times)
    over = start = 0
    for end, moment in enumerate(ordered):
        while ordered[start] <= moment - period:
            start += 1
        over += (end - start + 1) > limit
    return over


# ---------------------------------------------------------------------------
# results


def machine_facts() -> dict[str, Any]:
    facts: dict[str, Any] = {"nproc": os.cpu_count(), "platform": platform.platform(),
                             "python": platform.python_version(), "machine": platform.machine()}
    try:
        facts["git_commit"] = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                                             text=True, timeout=5).stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        facts["git_commit"] = None
    try:
        facts["load_avg_1_5_15_min_at_start"] = LOAD_AT_START
        facts["load_avg_1_5_15_min_at_end"] = [round(x, 2) for x in os.getloadavg()]
    except OSError:
        pass
    return facts


def write_result(name: str, data: dict[str, Any]) -> Path:
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"{name}.json"
    document = {"benchmark": name, "written_at": datetime.now(timezone.utc).isoformat(),
                "machine": machine_facts(), **data}
    path.write_text(json.dumps(document, indent=2, default=str) + "\n")
    return path


def fmt_ms(value: Any) -> str:
    return "-" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.2f}"
