"""A proxy.py plugin, loaded by the test proxy: one JSON line per request it forwards, to ``$TEST_PROXY_RECORD``.

Each line says what was asked (method, host:port and path, or the tunnel's host:port) and whether the
request carried the proxy's credentials in ``Proxy-Authorization`` (``valid``, ``wrong`` or ``missing``),
never the header's value. proxy.py itself logs only the first request of a kept-alive connection, and
checks the credentials only there; this sees every request, the later ones on a connection included.
"""
from __future__ import annotations

import json
import os
from typing import Optional

from proxy.http.parser import HttpParser
from proxy.http.proxy import HttpProxyBasePlugin

PROXY_AUTHORIZATION = b"proxy-authorization"


class RecordRequests(HttpProxyBasePlugin):
    def handle_client_request(self, request: HttpParser) -> Optional[HttpParser]:
        host = (request.host or b"").decode()
        target = f"{host}:{request.port}" + ("" if request.is_https_tunnel else (request.path or b"/").decode())
        line = {"method": (request.method or b"").decode(), "target": target,
                "proxy_authorization": self._credentials(request)}
        with open(os.environ["TEST_PROXY_RECORD"], "a") as record:
            record.write(json.dumps(line) + "\n")
        return request

    def _credentials(self, request: HttpParser) -> str:
        if not request.has_header(PROXY_AUTHORIZATION):
            return "missing"
        scheme, _, code = request.header(PROXY_AUTHORIZATION).partition(b" ")
        return "valid" if scheme.lower() == b"basic" and code.strip() == self.flags.auth_code else "wrong"
