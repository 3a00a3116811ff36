"""Agency webhook secrets, derived and never stored (as the health centers' webhooks do).

An agency's signing secret is HMAC-SHA256 of the platform's agency webhook key (a Secrets Manager secret of
the catalog) over ``<target>:<key version>``. The registry keeps only the version: registering or rotating
bumps it, which shows the agency its new secret once and kills the old one.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable


class AgencyKeys:
    def __init__(self, master_key: Callable[[], str]) -> None:
        self._read = master_key
        self._master: bytes | None = None  # read on first use and kept for the container's life

    def secret(self, target: str, version: int) -> str:
        if self._master is None:
            self._master = self._read().encode()
        return hmac.new(self._master, f"{target}:{version}".encode(), hashlib.sha256).hexdigest()
