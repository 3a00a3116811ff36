"""Kinesis Video Streams live HLS sessions: the cloud source of live agency video links.

A session URL carries its own token and is NOT bound to an address, so it is handed out only
through the IP-checked API and kept short (``Expires`` = the link lifetime, 300 s at least as
the service requires).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError

from chalicelib.errors import TransientError
from chalicelib.models.camera import Camera

logger = logging.getLogger(__name__)

MIN_EXPIRES_S = 300
MAX_EXPIRES_S = 43_200
_MISSING = {"ResourceNotFoundException", "NotAuthorizedException"}

ClientFactory = Callable[[str], Any]
"""data endpoint URL → a ``kinesis-video-archived-media`` client for it."""


class KvsLiveLinks:
    """``LiveLinks`` over Kinesis Video: ``GetDataEndpoint`` once per stream, then a ``LIVE``
    ``GetHLSStreamingSessionURL`` per link."""

    def __init__(self, kinesisvideo: Any, archived_media_for: ClientFactory, *,
                 clock: Callable[[], float] | None = None) -> None:
        import time

        self._kvs = kinesisvideo
        self._media_for = archived_media_for
        self._clock = clock or time.time
        self._endpoints: dict[str, str] = {}
        self._media_clients: dict[str, Any] = {}
        self._lock = threading.Lock()

    def available(self, camera: Camera) -> bool:
        return bool(camera.stream_name)

    def _endpoint(self, stream: str) -> str:
        with self._lock:
            found = self._endpoints.get(stream)
        if found is None:
            found = str(self._kvs.get_data_endpoint(StreamName=stream,
                                                     APIName="GET_HLS_STREAMING_SESSION_URL")["DataEndpoint"])
            with self._lock:
                self._endpoints[stream] = found
        return found

    def _media_client(self, endpoint: str) -> Any:
        with self._lock:
            found = self._media_clients.get(endpoint)
        if found is None:  # clients are costly to build: one per data endpoint, reused
            found = self._media_for(endpoint)
            with self._lock:
                self._media_clients[endpoint] = found
        return found

    def session_url(self, stream: str, expires_s: int) -> str:
        """A LIVE HLS session URL for the stream, valid ``expires_s`` seconds (clamped to KVS' range)."""
        expires = max(MIN_EXPIRES_S, min(MAX_EXPIRES_S, expires_s))
        reply = self._media_client(self._endpoint(stream)).get_hls_streaming_session_url(
            StreamName=stream, PlaybackMode="LIVE", Expires=expires)
        return str(reply["HLSStreamingSessionURL"])

    def link(self, camera: Camera, *, request_id: str, expires_at: int, cidr: str) -> tuple[str, int] | None:
        if not camera.stream_name:
            return None
        now = int(self._clock())
        expires_s = max(MIN_EXPIRES_S, min(MAX_EXPIRES_S, expires_at - now))
        try:
            url = self.session_url(camera.stream_name, expires_s)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code in _MISSING:
                logger.info("no live stream for %s (%s)", camera.camera_id, code)
                return None
            raise TransientError(f"Kinesis Video failed for {camera.camera_id}: {code}") from exc
        return url, now + expires_s
