"""Builds the video-link service (and the edge's hooks) from settings and AWS resources."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from chalicelib.adapters.evidence import RsaReceiptSigner, S3EvidenceVault
from chalicelib.adapters.resources import Resources
from chalicelib.adapters.revocations import KeyValueStoreRevocations, TableRevocations
from chalicelib.adapters.signing_key import load_signing_key, signer_from_settings
from chalicelib.errors import ObjectMissing
from chalicelib.models.camera import Camera
from chalicelib.ports import ObjectStore
from chalicelib.services.audit import AuditLog
from chalicelib.services.cameras import CameraRegistry
from chalicelib.services.evidence import EvidenceLocker
from chalicelib.services.footage import DAY_MS, FootageCatalog
from chalicelib.services.video_links import EdgeLiveLinks, LiveLinks, VideoLinkService
from chalicelib.settings import Settings

LIVE_PREFIX = "live"
"""Camera gateways write each camera's live HLS (``live/<camera>/index.m3u8`` + segments) here."""


def gateway_has_live(media: ObjectStore) -> Callable[[Camera], bool]:
    """Cloud: a camera is live when its gateway's playlist is in the media bucket."""

    def has_live(camera: Camera) -> bool:
        try:
            media.head(f"{LIVE_PREFIX}/{camera.camera_id}/index.m3u8")
        except ObjectMissing:
            return False
        return True

    return has_live


def footage_has_live(footage: FootageCatalog, retention_days: int) -> Callable[[Camera], bool]:
    """Local: the camera simulator loops a camera's stored footage, so a camera with any is live."""

    def has_live(camera: Camera) -> bool:
        now_ms = int(time.time() * 1000)
        return footage.has_footage(camera.camera_id, now_ms - retention_days * DAY_MS, now_ms)

    return has_live


def build_video_links(settings: Settings, resources: Resources, cameras: CameraRegistry | None = None,
                      *, live: LiveLinks | None = None) -> VideoLinkService:
    """Live links always go through the edge; what makes a camera live is the local simulator
    (an emulator endpoint is configured) or the camera gateways' playlists in S3 (the cloud)."""
    footage = FootageCatalog.from_settings(resources.store("footage"), resources.table("footage"), settings)
    signer = signer_from_settings(settings, lambda: resources.client("secretsmanager"))
    media = resources.store("media")
    if live is None:
        has_live = (footage_has_live(footage, settings.footage_retention_days) if settings.aws_endpoint_url
                    else gateway_has_live(media))
        live = EdgeLiveLinks(signer, settings.media_edge_url, has_live)
    registry = cameras or CameraRegistry(resources.table("cameras"), media, index_key=settings.camera_index_key)
    return VideoLinkService(cameras=registry, footage=footage, media=media,
                            records=resources.table("records"), audit=AuditLog(resources.table("audit")),
                            signer=signer, edge_base=settings.media_edge_url, live=live,
                            retention_days=settings.footage_retention_days, revocations=revocation_list(settings, resources),
                            evidence=evidence_locker(settings, resources))


def evidence_locker(settings: Settings, resources: Resources, *, receipts: bool = True) -> EvidenceLocker:
    """Exports held in the Object-Lock evidence bucket; receipts signed with the URL-signing key pair
    (``receipts=False``: the retention job, which only releases holds, needs no key)."""
    vault = S3EvidenceVault(resources.client("s3"), resources.catalog.bucket("evidence"))
    signer = None
    if receipts:
        secret = settings.signing_key_secret
        local_file = bool(secret) and Path(str(secret)).is_file()
        signer = RsaReceiptSigner(load_signing_key(secret, None if local_file else resources.client("secretsmanager")))
    return EvidenceLocker(vault=vault, footage_store=resources.store("footage"), records=resources.table("records"),
                          signer=signer, issuer=f"golden-time/{settings.stage}",
                          hold_days=settings.evidence_hold_days)


def revocation_list(settings: Settings, resources: Resources) -> KeyValueStoreRevocations | TableRevocations:
    """The cloud's CloudFront KeyValueStore when one is configured, the records table otherwise."""
    if settings.revocation_kvs_arn:
        return KeyValueStoreRevocations(resources.client("cloudfront-keyvaluestore"), settings.revocation_kvs_arn)
    return TableRevocations(resources.table("records"))
