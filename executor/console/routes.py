"""Putting the console's routes on the app, and answering its own errors."""
from __future__ import annotations

from flask import Flask, Response, jsonify

from executor.console.api import api
from executor.console.dashboard import page
from executor.console.signallog import BadQuery


def register_console(app: Flask) -> None:
    app.register_blueprint(api)
    app.register_blueprint(page)

    @app.errorhandler(BadQuery)
    def bad_query(exc: BadQuery) -> tuple[Response, int]:
        return jsonify(error=str(exc)), 400
