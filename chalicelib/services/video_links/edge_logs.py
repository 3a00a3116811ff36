"""CloudFront standard access logs (the W3C-style files CloudFront writes to S3) as edge access records.

Each gzipped file starts with ``#Version`` and ``#Fields`` lines and holds one tab-separated line
per viewer request, ``-`` for an empty field; ``cs-uri-query`` is kept URL-encoded as received.
The records have the shape the local media edge hands its ``on_access`` callback, so the cloud's
log function and the local edge write the same audit records
(:class:`chalicelib.services.video_links.edge_audit.EdgeAccessAudit`). Pure.
"""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, unquote


def _value(text: str) -> str | None:
    return None if text == "-" else text


def parse_standard_log(data: bytes) -> Iterator[dict[str, Any]]:
    """One access record per log line (gzip or plain text)."""
    text = (gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data).decode("utf-8", errors="replace")
    fields: list[str] = []
    for line in text.splitlines():
        if line.startswith("#Fields:"):
            fields = line.split(":", 1)[1].split()
            continue
        if not line or line.startswith("#"):
            continue
        if not fields:
            raise ValueError("a CloudFront log line before its #Fields header")
        row = dict(zip(fields, line.split("\t"), strict=False))
        query = _value(row.get("cs-uri-query", "-")) or ""
        links = parse_qs(query).get("link", [])
        status = int(row.get("sc-status") or 0)
        moment = datetime.fromisoformat(f"{row.get('date')}T{row.get('time')}+00:00").astimezone(UTC)
        yield {
            "time": moment.timestamp(),
            "method": row.get("cs-method"),
            "path": unquote(row.get("cs-uri-stem", "")),
            "link": links[0] if len(links) == 1 else None,
            "resource": None,
            "client_ip": row.get("c-ip", ""),
            "status": status,
            "reason": _value(row.get("x-edge-detailed-result-type", "-")) or _value(row.get("x-edge-result-type", "-"))
            or "",
            "bytes": int(row.get("sc-bytes") or 0),
            "edge_request_id": row.get("x-edge-request-id"),
            "user_agent": unquote(row.get("cs(User-Agent)", "")),
        }
