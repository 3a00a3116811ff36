"""The audit archive copies closed hours of the audit log to the Object-Lock bucket, once."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from conftest import load_event

from chalicelib.services.audit import AuditLog
from chalicelib.services.audit_archive import AuditArchive, archive_key
from local.lambda_runtime import LambdaContext


def _at(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


def test_closed_hours_are_archived_once_and_open_hours_wait(aws):
    # GIVEN records in a closed hour (01:xx) and in the hour still open at 03:02 (03:xx)
    moments = iter([_at("2025-06-01T01:10:00"), _at("2025-06-01T01:50:00"), _at("2025-06-01T03:01:00")])
    log = AuditLog(aws.table("audit"), clock=lambda: next(moments))
    first = log.append("video-link.issued", actor="police-112", source_ip="127.0.0.2", subject="vl-1")
    log.append("edge.access", actor="police-112", result="denied", source_ip="127.0.0.3", subject="vl-1")
    log.append("video-link.revoked", actor="police-112", result="revoked", subject="vl-1")
    archive = AuditArchive(log, aws.store("audit"))

    # WHEN the archiver runs at 03:06 (grace passed for 02:xx, 03:xx still open), twice
    now_ms = int(_at("2025-06-01T03:06:00") * 1000)
    written = archive.archive_closed_hours(now_ms)
    again = archive.archive_closed_hours(now_ms)

    # THEN the 01:00 hour is one JSON-lines object with both of its records, written only once
    key = archive_key(int(_at("2025-06-01T01:00:00") * 1000))
    assert written == [key] == ["audit/2025/06/01/01.jsonl"]
    assert again == []
    lines = [json.loads(line) for line in aws.store("audit").get(key).decode().splitlines()]
    assert [line["action"] for line in lines] == ["video-link.issued", "edge.access"]
    assert lines[0]["record_id"] == first.record_id
    assert lines[1]["source_ip"] == "127.0.0.3"


def test_the_scheduled_handler_archives_as_of_its_slot(aws):
    from functions.audit_archive import handler

    handler.archive.cache_clear()
    moments = iter([_at("2025-06-01T01:30:00")])
    AuditLog(aws.table("audit"), clock=lambda: next(moments)).append("principal.created", actor="admin-cli")
    result = handler.lambda_handler(load_event("schedule/audit_archive.json"), LambdaContext("audit_archive"))
    assert result == {"archived": ["audit/2025/06/01/01.jsonl"]}
    assert b"principal.created" in aws.store("audit").get("audit/2025/06/01/01.jsonl")
    handler.archive.cache_clear()
