"""S3 event notifications from the emulator with every field S3 sends.

moto 5.2 builds its S3 notification with only key, size and eTag under ``s3.object``, and no
``userIdentity``, ``requestParameters`` or ``responseElements``; S3 sends them all ("Event message
structure", Amazon S3 user guide), and readers record ``versionId``; moto also encodes "/" in keys.
Installed in the emulator's own process only, around moto's event builder.
"""

from __future__ import annotations

import itertools
import secrets
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote_plus

from moto.s3 import notifications

_sequence = itertools.count(1)
_lock = threading.Lock()


def _sequencer() -> str:
    """Hex, increasing for later events (S3: compare two sequencers of one key to order its events)."""
    with _lock:
        return f"{time.time_ns():016X}{next(_sequence) % 0x10000:04X}"


def complete(record: dict[str, Any], key: Any) -> None:
    """Add what S3 puts in a notification record and moto leaves out."""
    obj = record["s3"]["object"]
    obj["key"] = quote_plus(key.name, safe="/")  # S3 encodes a space as + and keeps "/"; moto sends "%2F"
    version_id = getattr(key, "version_id", None)
    if version_id and version_id != "null":  # S3 omits versionId for an unversioned bucket
        obj["versionId"] = str(version_id)
    obj["sequencer"] = _sequencer()
    record["eventTime"] = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    record["userIdentity"] = {"principalId": "AWS:AIDALOCALEMULATOR"}
    record["requestParameters"] = {"sourceIPAddress": "127.0.0.1"}
    record["responseElements"] = {"x-amz-request-id": secrets.token_hex(8).upper(),
                                  "x-amz-id-2": secrets.token_urlsafe(48)}
    record["s3"]["bucket"]["ownerIdentity"] = {"principalId": "AIDALOCALEMULATOR"}


def install() -> None:
    """Wrap moto's notification builder (idempotent)."""
    original: Callable[..., dict[str, Any]] = notifications._get_s3_event
    if getattr(original, "golden_time_complete", False):
        return

    def build(event_name: str, bucket: Any, key: Any, notification_id: str) -> dict[str, Any]:
        event = original(event_name, bucket, key, notification_id)
        for record in event["Records"]:
            complete(record, key)
        return event

    build.golden_time_complete = True  # type: ignore[attr-defined]
    notifications._get_s3_event = build
