"""The one reader of S3 event notifications delivered through SQS (X-ray uploads, monitor stills,
search shard markers), on Powertools' event data classes."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import unquote_plus

from aws_lambda_powertools.utilities.data_classes import S3Event
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord


@dataclass(frozen=True)
class S3ObjectRef:
    """One object a notification names; the key URL-decoded (S3 sends it encoded), the ETag unquoted."""

    bucket: str
    key: str
    etag: str
    version_id: str | None
    size: int


def s3_objects(record: SQSRecord) -> list[S3ObjectRef]:
    """The objects an S3 notification in an SQS message names; [] for ``s3:TestEvent`` (sent when a
    bucket's notifications are configured). ``ValueError`` when the body is no S3 notification."""
    body = record.json_body
    if isinstance(body, dict) and body.get("Event") == "s3:TestEvent":
        return []
    if not isinstance(body, dict) or not isinstance(body.get("Records"), list):
        raise ValueError("not an S3 event notification")
    found = []
    for s3_record in S3Event(body).records:
        obj = s3_record.s3.get_object
        found.append(S3ObjectRef(bucket=s3_record.s3.bucket.name, key=unquote_plus(obj.key),
                                 etag=(obj.get("eTag") or "").strip('"'), version_id=obj.version_id,
                                 size=int(obj.get("size") or 0)))
    return found
