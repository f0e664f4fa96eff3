"""gunicorn settings for the web process (``gunicorn -c config/gunicorn.py wsgi:app``)."""
import sys

from config.settings import SettingsError, load_web_settings

try:
    web = load_web_settings()
except SettingsError as exc:  # one line naming the variable, before gunicorn starts anything
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
