"""Where a live link comes from: the camera's live playlist at the edge, signed for that one URL."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Protocol

from chalicelib.models.camera import Camera
from chalicelib.ports import UrlSigner
from chalicelib.services.video_links.live_playlists import live_playlist_url


class LiveLinks(Protocol):
    """Where live video of a camera comes from."""

    def available(self, camera: Camera) -> bool:
        """Whether the camera has a live stream (cheap; called for candidates nearest first)."""
        ...

    def link(self, camera: Camera, *, request_id: str, expires_at: int, cidr: str) -> tuple[str, int] | None:
        """``(url, expires_at)`` of a live link, or ``None`` when the stream turned out missing."""
        ...


class EdgeLiveLinks:
    """Live links through the edge: the camera's live playlist, signed for that one URL; the
    playlist origin signs each live segment (cloud: gateways' HLS in S3; local: the simulator)."""

    def __init__(self, signer: UrlSigner, edge_base: str, has_live: Callable[[Camera], bool], *,
                 clock: Callable[[], float] = time.time) -> None:
        self._signer = signer
        self._base = edge_base.rstrip("/")
        self._has_live = has_live
        self._clock = clock

    def available(self, camera: Camera) -> bool:
        return self._has_live(camera)

    def link(self, camera: Camera, *, request_id: str, expires_at: int, cidr: str) -> tuple[str, int] | None:
        url = live_playlist_url(self._base, camera.camera_id, request_id, int(self._clock()))
        return self._signer.sign(url, expires_at=expires_at, ip_cidr=cidr), expires_at


