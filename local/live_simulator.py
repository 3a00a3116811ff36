"""The local camera gateway: each camera's stored footage looped as a live HLS stream.

It publishes what a cloud camera gateway writes under ``live/<camera>/`` — a sliding-window
playlist whose segments are named by their wall-clock start — and answers the edge's two live
routes: the playlist (signed per segment for the requesting link, by the same
:func:`~chalicelib.services.video_links.live_playlists.sign_live_playlist` the cloud's playlist origin runs)
and a segment (the recorded object the loop plays at that moment).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from urllib.parse import urlsplit

from chalicelib.errors import ValidationFailed
from chalicelib.models.camera import Camera
from chalicelib.ports import ObjectStore, UrlSigner
from chalicelib.services.footage import DAY_MS, FootageCatalog
from chalicelib.services.video_links.live_playlists import live_segment_name, scope_of, sign_live_playlist
from chalicelib.settings import Settings
from chalicelib.video.hls import live_playlist, live_segment_at
from local.edge_policy import EdgeGrant

_SEGMENT = re.compile(r"(\d{1,15})\.ts")


class SimulatedLive:
    def __init__(self, footage: FootageCatalog, store: ObjectStore, signer: UrlSigner, *, loop_start_ms: int,
                 window: int, clock: Callable[[], float] = time.time) -> None:
        self._footage = footage
        self._store = store
        self._signer = signer
        self._loop_start_ms = loop_start_ms
        self._window = window
        self._clock = clock

    def gateway_playlist(self, camera_id: str) -> str | None:
        """The camera's live playlist as a gateway writes it (relative ``<start_ms>.ts`` URIs)."""
        now_ms = int(self._clock() * 1000)
        segments = self._footage.segments_covering(camera_id, 0, now_ms)
        if not segments:
            return None
        return live_playlist(segments, now_ms=now_ms, loop_start_ms=self._loop_start_ms, window=self._window,
                             uri_for=lambda s: s.key, live_uri=lambda started, _s: live_segment_name(started))

    def playlist(self, camera_id: str, grant: EdgeGrant) -> str | None:
        """The playlist for a verified live link: its lifetime's segments, each signed for itself."""
        text = self.gateway_playlist(camera_id)
        if text is None:
            return None
        parts = urlsplit(grant.url)
        try:
            scope = scope_of(camera_id, parts.query, grant.policy)
        except ValidationFailed:
            return None
        return sign_live_playlist(text, scope, edge_base=f"{parts.scheme}://{parts.netloc}", signer=self._signer)

    def segment(self, camera_id: str, name: str) -> tuple[ObjectStore, str] | None:
        found = _SEGMENT.fullmatch(name)
        if found is None:
            return None
        started = int(found.group(1))
        segments = self._footage.segments_covering(camera_id, 0, int(self._clock() * 1000))
        segment = live_segment_at(segments, self._loop_start_ms, started) if segments else None
        return None if segment is None else (self._store, segment.key)


def footage_has_live(footage: FootageCatalog, settings: Settings) -> Callable[[Camera], bool]:
    """The simulator loops a camera's stored footage, so a camera with any footage in retention is live
    (handed to ``chalicelib.wiring.video_links.use_live_source`` by the local platform)."""
    retention_ms = settings.footage_retention_days * DAY_MS

    def has_live(camera: Camera) -> bool:
        now_ms = int(time.time() * 1000)
        return footage.has_footage(camera.camera_id, now_ms - retention_ms, now_ms)

    return has_live
