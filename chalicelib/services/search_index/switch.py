"""Which cameras are kept out of the search index: an operator turns a camera's indexing off (a privacy zone, a
broken camera) and on again.

One small object per camera turned off, ``search-index/off/<camera>.json`` beside the index (no read-modify-write
of a shared list, so two operators never overwrite each other); turning it on deletes it. The indexer asks before
indexing a segment; a search lists the prefix once, reads none of those cameras' records (not even ones written
before the switch) and leaves their footage to the decode path, naming them in its coverage.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime

from chalicelib.errors import ObjectMissing
from chalicelib.models.search import CameraIndexing
from chalicelib.ports import ObjectStore
from chalicelib.services.search_index.records import INDEX_PREFIX

logger = logging.getLogger(__name__)
OFF_PREFIX = f"{INDEX_PREFIX}/off/"


def _now() -> datetime:
    return datetime.now(UTC)


class IndexSwitches:
    def __init__(self, store: ObjectStore, *, clock: Callable[[], datetime] = _now) -> None:
        self._store = store
        self._clock = clock

    def set(self, camera_id: str, *, indexing: bool, reason: str | None = None) -> CameraIndexing:
        state = CameraIndexing(camera_id=camera_id, indexing=indexing, reason=reason, changed_at=self._clock())
        if indexing:
            self._store.delete(f"{OFF_PREFIX}{camera_id}.json")
        else:
            self._store.put(f"{OFF_PREFIX}{camera_id}.json", state.model_dump_json().encode(),
                            content_type="application/json")
        logger.info("camera indexing switched", extra={"camera_id": camera_id, "indexing": indexing})
        return state

    def get(self, camera_id: str) -> CameraIndexing | None:
        """The camera's switch when it is off; None when it is indexed (the default)."""
        try:
            return CameraIndexing.model_validate_json(self._store.get(f"{OFF_PREFIX}{camera_id}.json"))
        except ObjectMissing:
            return None

    def is_off(self, camera_id: str) -> bool:
        return self.get(camera_id) is not None

    def off(self) -> frozenset[str]:
        """Every camera whose indexing is off (one listing)."""
        return frozenset(k[len(OFF_PREFIX):-len(".json")] for k in self._store.keys(OFF_PREFIX) if k.endswith(".json"))

    def states(self) -> list[CameraIndexing]:
        found = (self.get(c) for c in sorted(self.off()))
        return [s for s in found if s is not None]
