"""The one place that builds boto3 clients: endpoint, region and retry policy from Settings."""

from __future__ import annotations

import threading
from typing import Any

import boto3
from botocore.config import Config

from chalicelib.settings import Settings

_lock = threading.Lock()
_clients: dict[tuple[str, str, str | None], Any] = {}


def client(service: str, settings: Settings) -> Any:
    """A cached, thread-safe client per (service, region, endpoint); clients are reused across
    invocations of a warm Lambda container."""
    cache_key = (service, settings.aws_region, settings.aws_endpoint_url)
    with _lock:
        found = _clients.get(cache_key)
        if found is None:
            config = Config(
                region_name=settings.aws_region,
                retries={"max_attempts": settings.aws_max_attempts, "mode": "standard"},
                connect_timeout=settings.aws_connect_timeout_s,
                read_timeout=settings.aws_read_timeout_s,
                max_pool_connections=32,
                s3={"addressing_style": "path"},
            )
            session = boto3.session.Session()
            found = session.client(service, endpoint_url=settings.aws_endpoint_url, config=config)
            _clients[cache_key] = found
        return found


def reset_clients() -> None:
    """Forget cached clients (tests that switch endpoints)."""
    with _lock:
        _clients.clear()
