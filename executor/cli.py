"""The ``executor`` command: web, worker, simulate, demo, jobs (list, show, replay).

Exit codes: 0 done; 1 refused or not found (one line per job on stderr); 2 usage; 3 configuration error;
4 Redis unavailable; 5 the process cannot start (a module it needs does not import, a port is taken...).
Every one of them is one line on stderr, never a traceback.
"""
from __future__ import annotations

import argparse
import getpass
import json
import os
import socket
import sys
from datetime import datetime, timezone
from typing import Any

from redis.exceptions import RedisError

from config.settings import SettingsError
from executor.errors import CannotStart


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        return args.run(args) or 0
    except SettingsError as exc:
        sys.stderr.write(f"configuration error: {exc}\n")
        return 3
    except RedisError as exc:
        sys.stderr.write(f"Redis unavailable ({type(exc).__name__}: {exc})\n")
        return 4
    except CannotStart as exc:
        sys.stderr.write(f"cannot start: {exc}\n")
        return 5
    except KeyboardInterrupt:
        return 130


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="executor", description="Webhook signal executor.")
    commands = parser.add_subparsers(dest="command", required=True)

    web = commands.add_parser("web", help="run the web process under gunicorn (as the Procfile does)")
    web.set_defaults(run=_web)

    worker = commands.add_parser("worker", help="run an RQ worker with its scheduler")
    worker.add_argument("--burst", action="store_true", help="stop when the queue is empty")
    worker.add_argument("--name", help="worker name (default: RQ's)")
    worker.set_defaults(run=_worker)

    simulate = commands.add_parser("simulate", help="serve the venue simulator on loopback")
    simulate.add_argument("--port", type=int, default=8900)
    simulate.add_argument("--host", default="127.0.0.1")
    simulate.add_argument("--no-demo", action="store_true", help="start without the demo positions")
    simulate.set_defaults(run=_simulate)

    demo = commands.add_parser("demo", help="run Redis, simulator, web and worker together, no credentials needed")
    demo.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
    demo.add_argument("--simulator-port", type=int, default=8900)
    demo.set_defaults(run=_demo)
    _add_jobs_commands(commands)
    return parser


def _add_jobs_commands(commands: Any) -> None:  # what ArgumentParser.add_subparsers returns
    jobs = commands.add_parser("jobs", help="list, show and replay jobs").add_subparsers(dest="jobs", required=True)

    listing = jobs.add_parser("list", help="one line per job (default: the failed ones)")
    which = listing.add_mutually_exclusive_group()
    for name, text in (("failed", "failed jobs (the default)"),
                       ("deferred", "jobs deferred to a later time or waiting for their turn in a lane"),
                       ("all", "every job still in Redis")):
        which.add_argument(f"--{name}", dest="which", action="store_const", const=name, help=text)
    listing.add_argument("--venue", help="only this venue's jobs")
    listing.add_argument("--since", type=_since, help="alerts received since T: ISO 8601, or 30m, 2h, 1d ago")
    listing.set_defaults(run=_jobs_list, which="failed")

    show = jobs.add_parser("show", help="one job as JSON, with its attempts, events and replays")
    show.add_argument("job_id")
    show.set_defaults(run=_jobs_show)

    replay = jobs.add_parser("replay", help="run failed jobs again (finished ones with --force)")
    replay.add_argument("job_ids", nargs="*", metavar="ID")
    replay.add_argument("--failed", action="store_true", help="every failed job, oldest alert first")
    replay.add_argument("--since", type=_since, help="with --failed: alerts received since T")
    replay.add_argument("--force", action="store_true", help="also redo a job that succeeded")
    replay.set_defaults(run=_jobs_replay)


def _web(args: argparse.Namespace) -> int:
    from config.settings import load_settings, load_web_settings

    load_settings(require_webhook_secret=True)  # one clear line before gunicorn starts, if anything is wrong
    load_web_settings()
    os.execvp(sys.executable, [sys.executable, "-m", "gunicorn", "-c", _gunicorn_config(), "wsgi:app"])
    return 0


def _worker(args: argparse.Namespace) -> int:
    try:
        from workers.worker import run
    except ImportError as exc:
        raise CannotStart(f"the worker does not import ({exc}); reinstall the locked set (requirements.txt)") \
            from None
    run(burst=args.burst, name=args.name)
    return 0


def _simulate(args: argparse.Namespace) -> int:
    from executor.logs import configure_logging
    from executor.simulator import serve

    configure_logging("simulator")
    serve(args.host, args.port, demo=not args.no_demo)
    return 0


def _demo(args: argparse.Namespace) -> int:
    from executor.demo import run_demo

    return run_demo(args.port, args.simulator_port)


def _since(text: str) -> datetime:
    from executor.replay import parse_since

    try:
        return parse_since(text, datetime.now(timezone.utc))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _jobs_queue():
    from config.settings import load_settings
    from executor.alertqueue import make_queue
    from executor.redis_client import connect

    settings = load_settings()
    return make_queue(connect(settings.redis_url), settings)


def _jobs_list(args: argparse.Namespace) -> int:
    from executor.replay import list_jobs, summary_line

    for job in list_jobs(_jobs_queue(), args.which, venue=args.venue, since=args.since):
        print(summary_line(job))
    return 0


def _jobs_show(args: argparse.Namespace) -> int:
    from executor.jobview import UnreadableJob
    from executor.replay import JobNotFound, show

    try:
        view = show(_jobs_queue().connection, args.job_id)
    except (JobNotFound, UnreadableJob) as exc:
        sys.stderr.write(f"{exc}\n")
        return 1
    print(json.dumps(view, indent=2, default=str))
    return 0


def _jobs_replay(args: argparse.Namespace) -> int:
    from executor.jobview import UnreadableJob, describe
    from executor.replay import JobNotFound, ReplayRefused, list_jobs, replay

    if bool(args.job_ids) == args.failed or (args.since and not args.failed):
        sys.stderr.write("executor jobs replay: give job ids, or --failed [--since T]\n")
        return 2
    queue = _jobs_queue()
    ids = args.job_ids or [job.id for job in list_jobs(queue, "failed", since=args.since)]
    refused = 0
    for job_id in ids:
        try:
            job = replay(queue, job_id, origin=_origin(), now=datetime.now(timezone.utc), force=args.force)
        except (JobNotFound, ReplayRefused, UnreadableJob) as exc:
            sys.stderr.write(f"{exc}\n")
            refused += 1
            continue
        print(f"replayed {job.id}: {describe(job)['status']}")
    if not ids:
        print("no failed jobs to replay")
    return 1 if refused else 0


def _origin() -> str:
    """``cli:user@host``, kept in the job's history as who replayed it."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = str(os.getuid())
    return f"cli:{user}@{socket.gethostname()}"


def _gunicorn_config() -> str:
    return os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "config", "gunicorn.py")


if __name__ == "__main__":
    sys.exit(main())
