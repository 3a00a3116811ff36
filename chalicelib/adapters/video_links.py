"""Builds the video-link service (and the edge's hooks) from settings and AWS resources."""

from __future__ import annotations

from typing import Any

from chalicelib.adapters.kvs import KvsLiveLinks
from chalicelib.adapters.resources import Resources
from chalicelib.adapters.signing_key import signer_from_settings
from chalicelib.services.audit import AuditLog
from chalicelib.services.cameras import CameraRegistry
from chalicelib.services.footage import FootageCatalog
from chalicelib.services.video_links import EdgeLiveLinks, LiveLinks, VideoLinkService
from chalicelib.settings import Settings


def kvs_live_links(resources: Resources) -> KvsLiveLinks:
    def archived_media_for(endpoint: str) -> Any:
        import boto3

        return boto3.client("kinesis-video-archived-media", region_name=resources.settings.aws_region,
                            endpoint_url=endpoint, config=resources.client("kinesisvideo").meta.config)

    return KvsLiveLinks(resources.client("kinesisvideo"), archived_media_for)


def build_video_links(settings: Settings, resources: Resources, cameras: CameraRegistry | None = None,
                      *, live: LiveLinks | None = None) -> VideoLinkService:
    """Live links come from the local media edge when an emulator endpoint is configured (the
    local platform), from Kinesis Video Streams otherwise (the cloud)."""
    footage = FootageCatalog.from_settings(resources.store("footage"), resources.table("footage"), settings)
    signer = signer_from_settings(settings, lambda: resources.client("secretsmanager"))
    if live is None:
        live = (EdgeLiveLinks(signer, settings.media_edge_url, footage, retention_days=settings.footage_retention_days)
                if settings.aws_endpoint_url else kvs_live_links(resources))
    registry = cameras or CameraRegistry(resources.table("cameras"), resources.store("media"),
                                         index_key=settings.camera_index_key)
    return VideoLinkService(cameras=registry, footage=footage, media=resources.store("media"),
                            records=resources.table("records"), audit=AuditLog(resources.table("audit")),
                            signer=signer, edge_base=settings.media_edge_url, live=live,
                            retention_days=settings.footage_retention_days)
