"""The ``executor`` command: web, worker, simulate, demo."""
from __future__ import annotations

import argparse
import os
import sys

from config.settings import SettingsError


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        return args.run(args) or 0
    except SettingsError as exc:
        sys.stderr.write(f"configuration error: {exc}\n")
        return 3
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
    return parser


def _web(args: argparse.Namespace) -> int:
    from config.settings import load_settings

    load_settings(require_webhook_secret=True)  # one clear line before gunicorn starts, if anything is wrong
    os.execvp(sys.executable, [sys.executable, "-m", "gunicorn", "-c", _gunicorn_config(), "wsgi:app"])
    return 0


def _worker(args: argparse.Namespace) -> int:
    from workers.worker import run

    run(burst=args.burst, name=args.name)
    return 0


def _simulate(args: argparse.Namespace) -> int:
    from executor.simulator import serve

    serve(args.host, args.port, demo=not args.no_demo)
    return 0


def _demo(args: argparse.Namespace) -> int:
    from executor.demo import run_demo

    return run_demo(args.port, args.simulator_port)


def _gunicorn_config() -> str:
    return os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "config", "gunicorn.py")


if __name__ == "__main__":
    sys.exit(main())
