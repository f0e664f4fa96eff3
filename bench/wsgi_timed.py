"""Bench-only entry point: the product's ``wsgi:app`` behind a middleware that stamps each request's arrival.

``gunicorn -c config/gunicorn.py bench.wsgi_timed:app``. The stamp is ``time.time()``
taken as gunicorn hands the request to the application (headers parsed, before
Flask sees it). It goes into the environ (``bench.arrival``) and back to the
client in the ``X-Bench-Arrival`` answer header, so the benchmark pairs it with
the job id of the same answer. The product itself is unchanged.
"""
from __future__ import annotations

import time
from typing import Any, Callable, Iterable

from wsgi import app as product_app

ARRIVAL_KEY = "bench.arrival"
ARRIVAL_HEADER = "X-Bench-Arrival"  # bench.common.ARRIVAL_HEADER (not imported: keep this module light)


class ArrivalStamp:
    def __init__(self, wrapped: Callable[..., Iterable[bytes]]) -> None:
        self.wrapped = wrapped

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        arrived = time.time()
        environ[ARRIVAL_KEY] = arrived

        def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            headers.append((ARRIVAL_HEADER, repr(arrived)))
            return start_response(status, headers, exc_info)

        return self.wrapped(environ, start)


app = ArrivalStamp(product_app)
