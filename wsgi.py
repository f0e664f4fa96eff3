"""The web process's entry point: ``gunicorn wsgi:app``."""
from __future__ import annotations

import sys

from config.settings import SettingsError
from executor.app import create_app

try:
    app = create_app()
except SettingsError as exc:
    sys.stderr.write(f"configuration error: {exc}\n")
    sys.exit(3)
