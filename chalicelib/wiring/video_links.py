"""Builds the video-link service (and the edge's hooks) from settings and AWS resources."""

from __future__ import annotations

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
from chalicelib.services.footage import FootageCatalog
from chalicelib.services.video_links.evidence import EvidenceLocker
from chalicelib.services.video_links.export import ExportPreserver
from chalicelib.services.video_links.live import EdgeLiveLinks, LiveLinks
from chalicelib.services.video_links.service import VideoLinkService
from chalicelib.settings import Settings
from chalicelib.wiring.cameras import build_camera_registry

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


LiveSource = Callable[[FootageCatalog, Settings], Callable[[Camera], bool]]
"""Given the footage catalog and settings, what makes a camera live."""

_live_source: LiveSource | None = None


def use_live_source(source: LiveSource | None) -> None:
    """The local platform hands over its camera simulator's notion of live (``None`` forgets it)."""
    global _live_source
    _live_source = source


def build_video_links(settings: Settings, resources: Resources, cameras: CameraRegistry | None = None,
                      *, live: LiveLinks | None = None) -> VideoLinkService:
    """Live links always go through the edge; what makes a camera live is the camera gateways'
    playlists in S3, or the live source the local platform handed over (its simulator)."""
    footage = FootageCatalog.from_settings(resources.store("footage"), resources.table("footage"), settings)
    signer = signer_from_settings(settings, lambda: resources.client("secretsmanager"))
    media = resources.store("media")
    if live is None:
        has_live = _live_source(footage, settings) if _live_source is not None else gateway_has_live(media)
        live = EdgeLiveLinks(signer, settings.media_edge_url, has_live)
    registry = cameras or build_camera_registry(resources)
    return VideoLinkService(cameras=registry, footage=footage, media=media,
                            records=resources.table("records"), audit=AuditLog(resources.table("audit")),
                            signer=signer, edge_base=settings.media_edge_url, live=live,
                            retention_days=settings.footage_retention_days, revocations=revocation_list(settings, resources),
                            evidence=evidence_locker(settings, resources), evidence_queue=resources.queue("evidence"))


def export_preserver(settings: Settings, resources: Resources) -> ExportPreserver:
    """The evidence worker's and the retention job's preserver (no signing key needed)."""
    footage = FootageCatalog.from_settings(resources.store("footage"), resources.table("footage"), settings)
    return ExportPreserver(resources.table("records"), footage, evidence_locker(settings, resources, receipts=False),
                           AuditLog(resources.table("audit")))


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
