"""CloudFront standard logs → functions/edge_access_log → audit records, under moto.

GIVEN a log file in the format AWS documents (the documentation's own sample lines, plus lines for
an agency link allowed, refused by the viewer-request function and refused for its address),
WHEN S3 notifies the queue and the function runs, THEN every request naming a link is an audit
record attributed to its agency, and link-less noise is sampled, not recorded line by line.
"""

from __future__ import annotations

import gzip
from functools import partial
from pathlib import Path

from conftest import s3_sqs_event

from chalicelib.services.audit import AuditLog
from chalicelib.services.owned import OwnedRecords
from chalicelib.services.video_links.edge_logs import parse_standard_log
from functions.edge_access_log import handler
from local.lambda_runtime import LambdaContext as RuntimeContext

SAMPLE = Path(__file__).resolve().parents[2] / "events" / "cloudfront" / "standard_log_aws_example.txt"
LINK = "vl-0123456789abcdef"


LambdaContext = partial(RuntimeContext, function_name="gt-test-edge-access-log", memory_limit_in_mb=512)


def _line(sample: str, *, ip: str, stem: str, status: str, query: str, result: str, detailed: str) -> str:
    fields = sample.split("\t")
    fields[4], fields[7], fields[8], fields[11], fields[13], fields[28] = ip, stem, status, query, result, detailed
    return "\t".join(fields)


def _log() -> bytes:
    text = SAMPLE.read_text()
    sample = text.splitlines()[2]
    ours = [
        _line(sample, ip="203.0.113.7", stem="/footage/footage/CAM-1/1.ts", status="200",
              query=f"link={LINK}&Policy=p&Signature=s&Key-Pair-Id=K", result="Miss", detailed="Miss"),
        _line(sample, ip="203.0.113.7", stem="/footage/footage/CAM-1/2.ts", status="403",
              query=f"link={LINK}&Policy=p&Signature=s&Key-Pair-Id=K", result="FunctionGeneratedResponse",
              detailed="FunctionGeneratedResponse"),
        _line(sample, ip="198.51.100.9", stem="/footage/footage/CAM-1/1.ts", status="403",
              query=f"link={LINK}&Policy=p&Signature=s&Key-Pair-Id=K", result="Error", detailed="Error"),
    ]
    return gzip.compress((text + "\n".join(ours) + "\n").encode())


def test_the_documented_sample_parses():
    records = list(parse_standard_log(SAMPLE.read_bytes()))

    assert [(r["client_ip"], r["path"], r["status"], r["bytes"], r["link"]) for r in records] == \
        [("192.0.2.100", "/index.html", 200, 392, None)] * 2
    assert records[0]["user_agent"].startswith("Mozilla/5.0 (Windows NT 10.0")


def test_log_file_becomes_audit_records(aws):
    OwnedRecords(aws.table("records"), "VIDEOLINK").create(LINK, "police-1", {"incident_number": "112-2026-1"},
                                                           created_ms=1)
    bucket = aws.catalog.bucket("edge-logs")
    key = "cloudfront/E2ABCDEF.2026-11-30-12.abcd1234.gz"
    aws.client("s3").put_object(Bucket=bucket, Key=key, Body=_log())
    handler.wiring.cache_clear()

    result = handler.lambda_handler(s3_sqs_event([{"bucket": bucket, "key": key, "etag": "e"}],
                                                 template="s3_sqs/monitor_clip.json"), LambdaContext())

    assert result == {"batchItemFailures": []}
    records = [r for r in AuditLog(aws.table("audit")).records(since_ms=0) if r.action.startswith("edge.")]
    access = sorted((r.source_ip, r.result, r.details["status"], r.details["reason"]) for r in records
                    if r.action == "edge.access")
    assert access == [("198.51.100.9", "denied", 403, "Error"),
                      ("203.0.113.7", "denied", 403, "FunctionGeneratedResponse"),
                      ("203.0.113.7", "ok", 200, "Miss")]
    assert {r.actor for r in records if r.action == "edge.access"} == {"police-1"}
    assert all(r.subject == LINK for r in records if r.action == "edge.access")
    noise = [r for r in records if r.action == "edge.unattributed"]
    assert len(noise) == 1 and noise[0].details["seen"] == 1  # two link-less lines: the first sampled
    handler.wiring.cache_clear()
