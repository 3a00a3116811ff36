"""What each function needs beyond its trigger: memory, layers, concurrency and the resources it may touch.

Functions themselves are derived from the catalog (a queue's ``consumer``, a schedule's ``handler``);
this map only refines them. A function without an entry gets ``DEFAULT_PROFILE``: its trigger and the
idempotency table, nothing else, so a new handler deploys with the least privilege until it asks for more.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

BucketAccess = Literal["read", "write", "read_write", "read_delete", "held_write", "held_release"]
"""``held_write``: write objects under a legal hold; ``held_release``: lift holds and delete every version."""
TableAccess = Literal["read", "read_write"]
_IDEMPOTENCY: dict[str, TableAccess] = {"idempotency": "read_write"}


class FunctionProfile(BaseModel):
    """How one function is sized and what it may reach (logical names from the catalog)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    memory_mb: int = Field(512, ge=128, le=10240)
    timeout_s: int | None = Field(None, ge=1, le=900, description="None: the queue's consumer_timeout_s, or 60 s.")
    reserved_concurrency: int = Field(5, ge=1, le=100)
    # Most handlers import PyAV, OpenCV or SciPy through chalicelib (video, geo), which with numpy and onnxruntime
    # outgrow Lambda's 250 MB zip+layers limit: they ship as a container image (functions/Dockerfile). A function
    # whose imports fit names its layers instead and ships as a zip.
    image: bool = Field(True, description="Container image (functions/Dockerfile) rather than zip + layers.")
    layers: tuple[str, ...] = Field((), description="Layer recipe names under layers/ (zip functions only).")
    buckets: dict[str, BucketAccess] = Field(default_factory=dict)
    tables: dict[str, TableAccess] = Field(default_factory=lambda: dict(_IDEMPOTENCY))
    publishes: tuple[str, ...] = Field((), description="Logical SNS topics it publishes to.")
    sends: tuple[str, ...] = Field((), description="Logical SQS queues it sends to.")
    live_video: bool = Field(False, description="Needs Kinesis Video Streams HLS session URLs.")
    signing_key: bool = Field(False, description="Reads the CloudFront URL-signing key secret.")
    revocation_kvs: bool = Field(False, description="Writes revoked link ids to the CloudFront KeyValueStore.")
    secrets: tuple[str, ...] = Field((), description="Logical catalog secrets it reads (GetSecretValue).")
    agency_client_certificate: bool = Field(False, description="Reads the client certificate it presents to agency "
                                            "webhooks requiring mutual TLS, where the deployment names one.")
    batch_submit: bool = Field(False, description="Submits and follows search-shard array jobs on AWS Batch.")
    sms: bool = Field(False, description="Sends text messages (sms-voice:SendTextMessage).")
    batch_follow: bool = Field(False, description="Follows search-shard array jobs by id (batch:DescribeJobs only).")


DEFAULT_PROFILE = FunctionProfile()

# Keyed by the function package under functions/ (the second part of the handler's dotted path).
FUNCTION_PROFILES: dict[str, FunctionProfile] = {
    # Delivers dispatches to the agencies' webhooks (outbound HTTPS); the safe-return wiring it shares names
    # the other queues and topics, and it backs off on its own queue.
    "agency_dispatch": FunctionProfile(
        reserved_concurrency=10, image=False, layers=("common",), signing_key=True,  # signed evidence links
        secrets=("agency-webhook-key",),  # derives each agency's signing secret
        agency_client_certificate=True,  # mutual TLS, where agencies require it
        tables={"records": "read_write", "cameras": "read", "idempotency": "read_write"}, buckets={"media": "read"},
        publishes=("control-center", "guardian-sms"), sends=("sos-escalation", "agency-dispatch"),
    ),
    "dispatch_receipts": FunctionProfile(
        timeout_s=60, reserved_concurrency=1, image=False, layers=("common",),
        tables={"records": "read_write", "cameras": "read"}, buckets={"media": "read"},
        publishes=("control-center", "guardian-sms"), sends=("sos-escalation", "agency-dispatch"),
    ),
    # Turns each SOS evidence upload into a follow-up dispatch on the agency-dispatch queue.
    "sos_evidence": FunctionProfile(
        reserved_concurrency=5, image=False, layers=("common",),
        tables={"records": "read_write", "audit": "read_write", "cameras": "read"}, buckets={"media": "read"},
        publishes=("control-center", "guardian-sms"), sends=("sos-escalation", "agency-dispatch"),
    ),
    # Sends guardian texts (End User Messaging SMS; the outbox table where the stage has no origination identity).
    "guardian_sms": FunctionProfile(
        reserved_concurrency=5, image=False, layers=("common",),
        tables={"records": "read_write", "idempotency": "read_write"}, sms=True,
    ),
    "audit_archive": FunctionProfile(
        timeout_s=300, reserved_concurrency=1, image=False, layers=("common",), buckets={"audit": "read_write"},
        tables={"audit": "read"},
    ),
    "footage_retention": FunctionProfile(
        timeout_s=300, reserved_concurrency=1, buckets={"footage": "read_delete", "evidence": "held_release"},
        tables={"footage": "read_write", "records": "read_write", "audit": "read_write"},
    ),
    # Copies a recorded export's segments under legal hold (evidence queue); never deletes.
    "evidence_preserver": FunctionProfile(
        memory_mb=1024, timeout_s=300, reserved_concurrency=5, buckets={"footage": "read", "evidence": "held_write"},
        tables={"footage": "read", "records": "read_write", "audit": "read_write"},
    ),
    # CloudFront standard logs → edge access audit records (the local edge writes the same ones).
    "edge_access_log": FunctionProfile(
        timeout_s=60, reserved_concurrency=2, image=False, layers=("common",), buckets={"edge-logs": "read"},
        tables={"audit": "read_write", "records": "read"},
    ),
    "sos_escalation": FunctionProfile(
        reserved_concurrency=10, tables={"records": "read_write", "cameras": "read", "idempotency": "read_write"},
        buckets={"media": "read"},  # the camera index snapshot
        publishes=("control-center", "guardian-sms"), sends=("sos-escalation", "agency-dispatch"),
    ),
    "trip_watchdog": FunctionProfile(
        timeout_s=120, reserved_concurrency=1, tables={"records": "read_write", "cameras": "read",
                                                       "idempotency": "read_write", "positions": "read"},
        buckets={"media": "read"},  # the camera index snapshot
        publishes=("control-center", "guardian-sms"), sends=("sos-escalation", "agency-dispatch"),
    ),
    "search_reducer": FunctionProfile(
        memory_mb=1024, reserved_concurrency=5, buckets={"media": "read_write"},
        tables={"records": "read_write", "idempotency": "read_write"}, sends=("agency-dispatch",),
    ),
    # Ends searches whose job failed or whose deadline passed: reads shard results, writes the answer, moves the
    # record, dispatches the answer to 112, and follows the jobs (never submits one).
    "search_sweeper": FunctionProfile(
        memory_mb=1024, timeout_s=120, reserved_concurrency=1, buckets={"media": "read_write"},
        tables={"records": "read_write"}, sends=("agency-dispatch",), batch_follow=True,
    ),
    # Indexes each stored footage segment (reads it, writes index parts and thumbnails beside it, so they expire
    # with the footage) and feeds the same detections to the camera's monitoring rules.
    "search_indexer": FunctionProfile(
        memory_mb=3008, reserved_concurrency=20, buckets={"footage": "read_write", "media": "read_write",
                                                          "models": "read"},
        tables={"records": "read_write", "cameras": "read", "idempotency": "read_write"},
    ),
    "selective_monitor": FunctionProfile(
        memory_mb=2048, reserved_concurrency=10, buckets={"media": "read_write", "models": "read"},
        tables={"records": "read_write", "cameras": "read", "idempotency": "read_write"},
    ),
    # Builds the SR / heat-map objects (highdicom) and C-STOREs (pynetdicom) or STOW-RSes them into the centers'
    # PACS: the container image carries both; reads the study, its de-identified copy and the center's destination.
    "pacs_delivery": FunctionProfile(
        memory_mb=1024, reserved_concurrency=5, buckets={"xray": "read"},
        tables={"records": "read_write", "principals": "read", "audit": "read_write"},
    ),
    # Signs and POSTs each settled study to its center's webhook; derives the center's secret from the key.
    "center_webhooks": FunctionProfile(
        memory_mb=512, reserved_concurrency=5, buckets={"xray": "read"},
        tables={"records": "read_write", "audit": "read_write"}, secrets=("center-webhook-key",),
    ),
    "xray_reader": FunctionProfile(
        memory_mb=3008, reserved_concurrency=10, image=False, layers=("common", "ml"),
        buckets={"xray": "read_write", "models": "read", "media": "write"},
        tables={"records": "read_write", "idempotency": "read_write"}, publishes=("center-notify",),
        secrets=("deid-key",),  # keys the UIDs of the de-identified DICOM copy
    ),
    "xray_sweeper": FunctionProfile(
        timeout_s=120, reserved_concurrency=1, image=False, layers=("common",), buckets={"xray": "read"},
        tables={"records": "read_write"},
    ),
}

# The HTTP API (the Chalice app) reaches most of the data plane; it never deletes objects.
API_PROFILE = FunctionProfile(
    memory_mb=1024, timeout_s=29, reserved_concurrency=50,
    buckets={"xray": "read_write", "media": "read_write", "footage": "read", "models": "read",
             "evidence": "held_write"},  # a receipt preserves its own export first if the worker has not yet
    tables={"principals": "read_write", "cameras": "read_write", "footage": "read", "records": "read_write",
            "audit": "read_write", "idempotency": "read_write", "positions": "read_write"},
    publishes=("control-center", "guardian-sms", "center-notify"),
    sends=("sos-escalation", "evidence", "agency-dispatch"),
    signing_key=True, batch_submit=True, revocation_kvs=True,
    # STOW-RS keys the hashes of received UIDs; a webhook subscription shows the center its derived secret
    # and a trip start signs the guardians' live-follow link (which the API also opens)
    secrets=("stow-uid-key", "center-webhook-key", "follow-link-key"),
)

# The live-playlist origin behind CloudFront (functions/live_playlist): reads gateways' playlists, signs segments.
LIVE_PLAYLIST_PROFILE = FunctionProfile(
    memory_mb=256, timeout_s=5, reserved_concurrency=20, image=False, layers=("common",),
    buckets={"media": "read"}, tables={}, signing_key=True,
)

# The GPU search shard (AWS Batch job role): reads footage and models, writes shard results to media.
SEARCH_SHARD_PROFILE = FunctionProfile(
    timeout_s=900,
    buckets={"footage": "read", "models": "read", "media": "read_write"},
    tables={"cameras": "read", "footage": "read", "records": "read_write"},
)


def profile_for(package: str) -> FunctionProfile:
    return FUNCTION_PROFILES.get(package, DEFAULT_PROFILE)
