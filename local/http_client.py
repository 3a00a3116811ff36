"""An HTTP session that calls from a chosen loopback address (127.0.0.2 …) to exercise IP rules."""

from __future__ import annotations

from typing import Any

import requests
from requests.adapters import HTTPAdapter


class _SourceAddressAdapter(HTTPAdapter):
    def __init__(self, source_ip: str, **kwargs: Any) -> None:
        self._source = (source_ip, 0)
        super().__init__(**kwargs)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        kwargs["source_address"] = self._source
        super().init_poolmanager(*args, **kwargs)


def session_from(source_ip: str = "127.0.0.1", token: str | None = None) -> requests.Session:
    session = requests.Session()
    adapter = _SourceAddressAdapter(source_ip)
    session.mount("http://", adapter)
    if token:
        session.headers["Authorization"] = f"Bearer {token}"
    return session
