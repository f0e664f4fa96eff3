"""gunicorn settings for the web process (``gunicorn -c config/gunicorn.py wsgi:app``)."""
import os

bind = f"0.0.0.0:{os.environ.get('PORT', '8000')}"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
threads = int(os.environ.get("WEB_THREADS", "4"))
worker_class = "gthread"
# The app is built once in the master: a configuration error stops the process at start.
preload_app = True
# TradingView gives up after 3 s; nothing here should take near that.
timeout = 30
graceful_timeout = 25
keepalive = 5
accesslog = None
errorlog = "-"
