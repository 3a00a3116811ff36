"""What one xray-reader container builds once: adapters, the model, the reader, the idempotent step."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)

from chalicelib.adapters.resources import Resources
from chalicelib.inference.active import ActiveModel
from chalicelib.inference.reference_model import TASK, ensure_reference_model
from chalicelib.inference.registry import ModelRegistry
from chalicelib.models.xray import XrayUpload
from chalicelib.s3_events import s3_objects
from chalicelib.services.xray.reader import PreparedBatch, UploadId, XrayReader, upload_id
from chalicelib.services.xray.studies import XrayStudies

logger = logging.getLogger(__name__)
IDEMPOTENCY_TTL_S = 7 * 24 * 3600
DEID_KEY = "deid-key"  # the catalog secret that keys de-identified UIDs
SETTLE_WORKERS = 10  # one per record of a full SQS batch: each settle is a few dependent round trips
Outcome = dict[str, Any] | Exception


@dataclass(frozen=True)
class ReaderRuntime:
    reader: XrayReader
    read_once: Callable[..., dict[str, Any]]
    idempotency: IdempotencyConfig
    max_receives: int
    classifier: ActiveModel
    pool: ThreadPoolExecutor = field(default_factory=lambda: ThreadPoolExecutor(
        max_workers=SETTLE_WORKERS, thread_name_prefix="xray-settle"))

    def settle(self, uploads: Sequence[XrayUpload], batch: PreparedBatch) -> dict[UploadId, Outcome]:
        """Every upload of the batch through the idempotent step, concurrently: each is its own chain of
        round trips (idempotency record, conditional write, notice, idempotency result) that waits on the
        network, never on another upload. Returns each upload's outcome or the exception its record fails
        with; a notification delivered twice in the batch is read once and both records share the outcome
        (what the idempotency record would have answered the second one)."""
        distinct: dict[UploadId, XrayUpload] = {}
        for upload in uploads:
            distinct.setdefault(upload_id(upload), upload)

        def one(upload: XrayUpload) -> Outcome:
            try:
                return self.read_once(upload=upload, batch=batch)
            except Exception as exc:  # re-raised by the upload's record, which then fails alone
                return exc

        return dict(zip(distinct, self.pool.map(one, distinct.values()), strict=True))


def model_loader(registry: ModelRegistry) -> ActiveModel:
    """The task's active model, re-checked before each batch (an activation reaches this warm container within
    ``ACTIVE_CHECK_S``); registers the NON-CLINICAL reference model first when the registry has none (a fresh
    local platform or stage)."""
    return ActiveModel(registry, TASK, when_missing=ensure_reference_model)


def build_runtime(resources: Resources) -> ReaderRuntime:
    # The stage's secret de-identification key, read first and once: a missing key fails the cold start with a
    # PermanentError rather than falling back to a value anyone could recompute derived UIDs with.
    deid_key = resources.secret(DEID_KEY)
    classifier = model_loader(ModelRegistry(resources.store("models")))
    reader = XrayReader(XrayStudies(resources.table("records"), resources.store("xray")), resources.store("xray"),
                        classifier, resources.topic("center-notify"), uid_salt=deid_key)
    persistence = DynamoDBPersistenceLayer(table_name=resources.catalog.table("idempotency"),
                                           boto3_client=resources.client("dynamodb"))
    # One reading per uploaded object version: duplicates of a notification share bucket/key/etag/version.
    config = IdempotencyConfig(event_key_jmespath="[bucket, key, etag, version_id]", raise_on_no_idempotency_key=True,
                               expires_after_seconds=IDEMPOTENCY_TTL_S)
    read_once = idempotent_function(reader.finish, data_keyword_argument="upload", persistence_store=persistence,
                                    config=config)
    # Configured now, as Powertools would on the first call: its lazy configure marks itself done before it sets
    # the key expression, so concurrent first calls could otherwise hash with none.
    persistence.configure(config, function_name=f"{reader.finish.__module__}.{reader.finish.__qualname__}")
    classifier.refresh()  # cold start pays the model load and warm-up, not the first batch
    return ReaderRuntime(reader=reader, read_once=read_once, idempotency=config,
                         max_receives=resources.catalog.queue("xray-uploads").max_receive_count, classifier=classifier)


def uploads_of(record: SQSRecord) -> list[XrayUpload]:
    """The objects an S3 notification names; [] for ``s3:TestEvent``."""
    sent_ms = int(record.attributes.sent_timestamp or 0)
    count = int(record.attributes.approximate_receive_count or 1)
    return [XrayUpload(bucket=obj.bucket, key=obj.key, etag=obj.etag, version_id=obj.version_id, size=obj.size,
                       sent_ms=sent_ms, receive_count=count) for obj in s3_objects(record)]


def batch_uploads(records: list[dict[str, Any]]) -> list[XrayUpload]:
    """Every parseable upload of the batch (an unparseable record fails alone, later, in the processor)."""
    uploads: list[XrayUpload] = []
    for raw in records:
        try:
            uploads.extend(uploads_of(SQSRecord(raw)))
        except Exception:  # reported as that record's failure by the batch processor
            logger.warning("unparseable SQS record", extra={"message_id": raw.get("messageId")})
    return uploads
