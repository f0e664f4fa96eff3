"""Bench-only entry point: the product's app plus ``POST /bench/bare``, a route that does nothing (204).

``gunicorn -c config/gunicorn.py bench.wsgi_bare:app``: the same server, process
model and Flask app as production, so the bare route is the floor the real
``/webhook`` is compared with.
"""
from __future__ import annotations

from flask import Response

from wsgi import app


@app.post("/bench/bare")
def bare() -> Response:
    return Response(status=204)
