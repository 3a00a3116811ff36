"""The catalog of every cloud resource name.

The local platform provisions from it and the CDK stacks read it, so a name is written once.
Names are derived from the stage: ``gt-<stage>-<logical name>``.
"""

from __future__ import annotations

from functools import lru_cache

from pydantic import BaseModel, ConfigDict, Field


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class BucketSpec(_Frozen):
    logical: str
    name: str
    versioned: bool = True
    object_lock: bool = False
    legal_hold_only: bool = Field(False, description="Object Lock without default retention: objects are kept "
                                  "by per-object legal holds (evidence), deletable once released.")
    expire_after_days: int | None = Field(None, description="Lifecycle expiry (footage retention).")
    log_delivery: bool = Field(False, description="CloudFront standard logs are delivered here (ACLs, S3-managed "
                               "encryption, as CloudFront's log delivery requires).")
    browser_uploads: bool = Field(False, description="Web pages upload here with presigned POSTs (the console's "
                                  "studies): the bucket lets any origin POST, the signed policy being the authorization.")


class QueueSpec(_Frozen):
    logical: str
    name: str
    dlq_name: str
    max_receive_count: int = Field(ge=1, le=100)
    visibility_timeout_s: int = Field(ge=1, le=43200)
    consumer: str | None = Field(None, description="Dotted path of the handler that consumes it.")
    batch_size: int = Field(10, ge=1, le=10)
    consumer_timeout_s: int = Field(30, ge=1, le=900)
    fifo: bool = False


class TableIndex(_Frozen):
    name: str
    partition_key: str
    sort_key: str | None = None


class TableSpec(_Frozen):
    logical: str
    name: str
    partition_key: str
    sort_key: str | None = None
    ttl_attribute: str | None = None
    indexes: tuple[TableIndex, ...] = ()
    number_keys: tuple[str, ...] = Field((), description="Key attributes typed N rather than S.")


class TopicSpec(_Frozen):
    logical: str
    name: str


class SecretSpec(_Frozen):
    logical: str
    name: str
    description: str = Field(description="What the secret keys; the CDK app writes it on the secret.")


class ScheduleSpec(_Frozen):
    logical: str
    name: str
    rate: str = Field(pattern=r"^rate\(\d+ (minute|minutes|hour|hours|day|days)\)$")
    handler: str


class NotificationRule(_Frozen):
    bucket: str = Field(description="Logical bucket name.")
    queue: str = Field(description="Logical queue name.")
    prefix: str = ""
    suffix: str = ""
    events: tuple[str, ...] = ("s3:ObjectCreated:*",)


class SubscriptionRule(_Frozen):
    """An SQS queue subscribed to an SNS topic (raw message delivery): the topic's worker."""

    topic: str = Field(description="Logical topic name.")
    queue: str = Field(description="Logical queue name.")


class ResourceCatalog(_Frozen):
    stage: str
    buckets: dict[str, BucketSpec]
    queues: dict[str, QueueSpec]
    tables: dict[str, TableSpec]
    topics: dict[str, TopicSpec]
    schedules: dict[str, ScheduleSpec]
    secrets: dict[str, SecretSpec]
    notifications: tuple[NotificationRule, ...]
    subscriptions: tuple[SubscriptionRule, ...] = ()

    def bucket(self, logical: str) -> str:
        return self.buckets[logical].name

    def queue(self, logical: str) -> QueueSpec:
        return self.queues[logical]

    def table(self, logical: str) -> str:
        return self.tables[logical].name

    def topic(self, logical: str) -> str:
        return self.topics[logical].name

    def secret(self, logical: str) -> str:
        return self.secrets[logical].name


# Logical names are the vocabulary the code uses; physical names are derived per stage.
_BUCKETS: dict[str, dict[str, object]] = {
    "xray": {"browser_uploads": True},
    # Not versioned: retention must really purge footage, not leave noncurrent versions behind.
    "footage": {"expire_after_days": 30, "versioned": False},
    "media": {},
    "models": {},
    "audit": {"object_lock": True},
    # Exported incident footage under legal hold (chain of custody) until the incident is closed + a period.
    "evidence": {"object_lock": True, "legal_hold_only": True},
    # CloudFront standard logs of the media distribution: read into audit records, then expired.
    "edge-logs": {"versioned": False, "expire_after_days": 30, "log_delivery": True},
}
_QUEUES: dict[str, dict[str, object]] = {
    "xray-uploads": {"max_receive_count": 3, "visibility_timeout_s": 180, "consumer_timeout_s": 30,
                     "consumer": "functions.xray_reader.handler.lambda_handler"},
    # Deliveries to the agencies' webhooks (SOS, link bundles, evidence, disasters, missing-person search answers);
    # a failure backs off (2, 4, 8 ... 60 s) before SQS redelivers it.
    "agency-dispatch": {"max_receive_count": 10, "visibility_timeout_s": 60, "consumer_timeout_s": 10,
                        "consumer": "functions.agency_dispatch.handler.lambda_handler"},
    # Guardian texts published on the guardian-sms topic, sent through End User Messaging SMS.
    "guardian-sms": {"max_receive_count": 5, "visibility_timeout_s": 60, "consumer_timeout_s": 10,
                     "consumer": "functions.guardian_sms.handler.lambda_handler"},
    "sos-escalation": {"max_receive_count": 5, "visibility_timeout_s": 60, "consumer_timeout_s": 10,
                       "consumer": "functions.sos_escalation.handler.lambda_handler"},
    # S3 notifications of SOS evidence the phone uploads: each becomes a follow-up dispatch to the agency.
    "sos-evidence": {"max_receive_count": 5, "visibility_timeout_s": 60, "consumer_timeout_s": 10,
                     "consumer": "functions.sos_evidence.handler.lambda_handler"},
    "monitor-frames": {"max_receive_count": 3, "visibility_timeout_s": 360, "consumer_timeout_s": 60,
                       "consumer": "functions.selective_monitor.handler.lambda_handler"},
    # Recorded exports to copy under legal hold (message: the request id); the retention job is the backstop.
    "evidence": {"max_receive_count": 5, "visibility_timeout_s": 1800, "consumer_timeout_s": 300, "batch_size": 1,
                 "consumer": "functions.evidence_preserver.handler.lambda_handler"},
    "edge-logs": {"max_receive_count": 5, "visibility_timeout_s": 360, "consumer_timeout_s": 60, "batch_size": 5,
                  "consumer": "functions.edge_access_log.handler.lambda_handler"},
    "search-shards-done": {"max_receive_count": 5, "visibility_timeout_s": 360, "consumer_timeout_s": 60,
                           "consumer": "functions.search_reducer.handler.lambda_handler"},
    # Stored footage segments → the search index (people tracks, embeddings, colours) and selective monitoring.
    "search-index": {"max_receive_count": 3, "visibility_timeout_s": 720, "consumer_timeout_s": 120, "batch_size": 1,
                     "consumer": "functions.search_indexer.handler.lambda_handler"},
    # center-notify → the centers' PACS (C-STORE); a PACS that is down is retried for ~an hour, then the DLQ
    "pacs-delivery": {"max_receive_count": 10, "visibility_timeout_s": 360, "consumer_timeout_s": 45,
                      "consumer": "functions.pacs_delivery.handler.lambda_handler"},
    # center-notify → the centers' signed webhooks; a failure backs off (2, 4 ... 60 s), then the DLQ (replayable)
    "center-webhooks": {"max_receive_count": 8, "visibility_timeout_s": 60, "consumer_timeout_s": 10,
                        "consumer": "functions.center_webhooks.handler.lambda_handler"},
}
_TABLES: dict[str, dict[str, object]] = {
    "principals": {"partition_key": "principal_id"},
    "cameras": {"partition_key": "camera_id"},
    "footage": {"partition_key": "camera_id", "sort_key": "start_ms", "ttl_attribute": "expires_at",
                "number_keys": ("start_ms",)},
    # Owner-scoped domain records (devices, trips, studies, incidents ...): pk = "<KIND>#<id>".
    "records": {"partition_key": "pk", "sort_key": "sk", "ttl_attribute": "expires_at",
                "indexes": (TableIndex(name="by-owner", partition_key="owner_id", sort_key="created_ms"),),
                "number_keys": ("created_ms",)},
    # Position fixes of monitored walks, one item per fix (pk = "TRIP#<id>"), expired by TTL: a time series
    # of its own, so the records table and its by-owner index stay the size of the records.
    "positions": {"partition_key": "track", "sort_key": "t_ms", "ttl_attribute": "expires_at",
                  "number_keys": ("t_ms",)},
    "audit": {"partition_key": "pk", "sort_key": "sk", "ttl_attribute": "expires_at"},
    "idempotency": {"partition_key": "id", "ttl_attribute": "expiration"},
}
_TOPICS = ("guardian-sms", "center-notify", "control-center")
_SCHEDULES: dict[str, dict[str, str]] = {
    "footage-retention": {"rate": "rate(1 hour)", "handler": "functions.footage_retention.handler.lambda_handler"},
    "xray-sweeper": {"rate": "rate(5 minutes)", "handler": "functions.xray_sweeper.handler.lambda_handler"},
    "search-sweeper": {"rate": "rate(2 minutes)", "handler": "functions.search_sweeper.handler.lambda_handler"},
    "trip-watchdog": {"rate": "rate(1 minute)", "handler": "functions.trip_watchdog.handler.lambda_handler"},
    "dispatch-receipts": {"rate": "rate(1 minute)", "handler": "functions.dispatch_receipts.handler.lambda_handler"},
    "audit-archive": {"rate": "rate(1 hour)", "handler": "functions.audit_archive.handler.lambda_handler"},
}
# Generated once per stage (random value) and never rotated: a new value would change every value derived from it.
_SECRETS: dict[str, str] = {
    "deid-key": "Keys the UIDs of de-identified DICOM copies (PS3.15 U action). Never rotate: a new key "
                "breaks the linkage of one patient's studies across de-identified copies.",
    "stow-uid-key": "Keys the hashes under which the API remembers the SOP Instance UIDs a center stored by STOW-RS "
                    "(a re-sent instance answers its study); the UIDs themselves are never stored.",
    "center-webhook-key": "Derives each health center's webhook signing secret (HMAC of center and key version); "
                          "no center secret is stored. Rotating it changes every center's secret.",
    "agency-webhook-key": "Derives each agency's dispatch webhook signing secret (HMAC of target and key version); "
                          "no agency secret is stored. Rotating it changes every agency's secret.",
    "follow-link-key": "Signs guardians' live-follow links (HMAC of trip and expiry); rotating it ends every link.",
}
_NOTIFICATIONS = (
    NotificationRule(bucket="xray", queue="xray-uploads", prefix="uploads/"),
    NotificationRule(bucket="media", queue="monitor-frames", prefix="monitor/"),
    NotificationRule(bucket="media", queue="sos-evidence", prefix="sos/"),
    NotificationRule(bucket="media", queue="search-shards-done", prefix="searches/", suffix="/done.json"),
    NotificationRule(bucket="edge-logs", queue="edge-logs", prefix="cloudfront/", suffix=".gz"),
    NotificationRule(bucket="footage", queue="search-index", prefix="footage/", suffix=".ts"),
)

_SUBSCRIPTIONS = (SubscriptionRule(topic="guardian-sms", queue="guardian-sms"),
                  SubscriptionRule(topic="center-notify", queue="pacs-delivery"),
                  SubscriptionRule(topic="center-notify", queue="center-webhooks"))


def _physical(stage: str, logical: str) -> str:
    return f"gt-{stage}-{logical}"


@lru_cache(maxsize=8)
def build_catalog(stage: str) -> ResourceCatalog:
    """Every resource of one stage, named once."""
    return ResourceCatalog(
        stage=stage,
        buckets={k: BucketSpec(logical=k, name=_physical(stage, k), **v) for k, v in _BUCKETS.items()},  # type: ignore[arg-type]
        queues={
            k: QueueSpec(logical=k, name=_physical(stage, k), dlq_name=_physical(stage, f"{k}-dlq"), **v)  # type: ignore[arg-type]
            for k, v in _QUEUES.items()
        },
        tables={k: TableSpec(logical=k, name=_physical(stage, k), **v) for k, v in _TABLES.items()},  # type: ignore[arg-type]
        topics={k: TopicSpec(logical=k, name=_physical(stage, k))
                for k in _TOPICS},
        schedules={k: ScheduleSpec(logical=k, name=_physical(stage, k), **v) for k, v in _SCHEDULES.items()},
        secrets={k: SecretSpec(logical=k, name=_physical(stage, k), description=v) for k, v in _SECRETS.items()},
        notifications=_NOTIFICATIONS,
        subscriptions=_SUBSCRIPTIONS,
    )
