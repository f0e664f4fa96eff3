"""gunicorn settings for the web process (``gunicorn -c config/gunicorn.py wsgi:app``)."""
import os
import sys

from config.observability import load_log_format
from config.settings import SettingsError, load_web_settings

try:
    web = load_web_settings()
    log_format = load_log_format(os.environ)
except (SettingsError, ValueError) as exc:  # one line naming the variable, before gunicorn starts anything
    sys.stderr.write(f"configuration error: {exc}\n")
    sys.exit(3)

bind = f"{web.host}:{web.port}"
workers = web.processes
threads = web.threads
worker_class = "gthread"
# The app is built once in the master: a configuration error stops the process at start.
preload_app = True
# TradingView gives up after 3 s; nothing here should take near that.
timeout = 30
graceful_timeout = 25
keepalive = 5
accesslog = None
errorlog = "-"
# gunicorn's own lines in the product's format (UTC ISO time, role, pid), through the one handler of the process.
from executor.logs import log_config  # noqa: E402  (after the settings check: a bad value stops first)

logconfig_dict = log_config("web", log_format)


def post_worker_init(worker):  # noqa: ANN001  gunicorn's hook: each served process starts its own threads
    from flask import Flask

    from executor.app import start_background

    if isinstance(worker.wsgi, Flask):  # not gunicorn's stand-in app for one that failed to load
        start_background(worker.wsgi)
