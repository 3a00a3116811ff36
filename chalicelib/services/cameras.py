"""The camera registry: cameras live in a table; a nearest-neighbour snapshot lives beside them.

Loading a catalog writes both. Readers load the snapshot once per container and re-check its
ETag at most every ``refresh_seconds``, so a newly loaded catalog is picked up without restarts.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence

from chalicelib.errors import NotFound, ObjectMissing
from chalicelib.models.camera import Camera, NearbyCameras
from chalicelib.ports import ObjectStore, Table
from chalicelib.services.camera_index import CameraIndex

LOAD_CHUNK = 5000
"""Cameras written between two progress reports."""


class CameraRegistry:
    def __init__(self, table: Table, store: ObjectStore, *, index_key: str, refresh_seconds: float = 10.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._table = table
        self._store = store
        self._index_key = index_key
        self._refresh_seconds = refresh_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._index: CameraIndex | None = None
        self._etag: str | None = None
        self._checked_at = float("-inf")

    def load_catalog(self, cameras: Sequence[Camera], *, progress: Callable[[int, int], None] | None = None) -> int:
        """Store every camera and publish the matching index snapshot; ``progress(stored, total)``
        is told after each chunk (a 100,000-camera load takes tens of seconds)."""
        for start in range(0, len(cameras), LOAD_CHUNK):
            chunk = cameras[start:start + LOAD_CHUNK]
            self._table.put_many([c.model_dump(mode="json", exclude_none=True) for c in chunk])
            if progress is not None:
                progress(start + len(chunk), len(cameras))
        index = CameraIndex(cameras)
        self._store.put(self._index_key, index.to_npz_bytes(), content_type="application/octet-stream")
        with self._lock:
            self._index, self._etag, self._checked_at = index, None, float("-inf")
        return len(cameras)

    def get(self, camera_id: str) -> Camera:
        item = self._table.get({"camera_id": camera_id})
        if item is None:
            raise NotFound(f"no camera {camera_id}")
        return Camera.model_validate(item)

    def index(self) -> CameraIndex:
        now = self._clock()
        with self._lock:
            if self._index is not None and now - self._checked_at < self._refresh_seconds:
                return self._index
            self._checked_at = now
            try:
                etag = self._store.head(self._index_key).etag
            except ObjectMissing:
                self._index = CameraIndex([])
                return self._index
            if etag != self._etag or self._index is None:
                self._index = CameraIndex.from_npz_bytes(self._store.get(self._index_key))
                self._etag = etag
            return self._index

    def nearest(self, lat: float, lon: float, *, k: int = 5, radius_m: float = 3000.0,
                accept: Callable[[Camera], bool] | None = None) -> NearbyCameras:
        return self.index().nearest(lat, lon, k=k, radius_m=radius_m, accept=accept)
