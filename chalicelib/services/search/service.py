"""What the API calls: start a search (validate, encode the photos, plan, submit shards) and read it."""

from __future__ import annotations

import base64
import binascii
import contextlib
import logging
import uuid
from collections.abc import Callable, Sequence

import cv2
import numpy as np

from chalicelib.clock import Clock, now_ms
from chalicelib.errors import Conflict, NotFound, ObjectMissing, TransientError, ValidationFailed
from chalicelib.models.search import (
    IndexedPart,
    SearchAnswer,
    SearchCoverage,
    SearchPlan,
    SearchQuery,
    SearchRequest,
    SearchStatus,
    Track,
)
from chalicelib.ports import BatchExecutor, ObjectStore
from chalicelib.services.cameras import CameraRegistry
from chalicelib.services.footage import DAY_MS, FootageCatalog
from chalicelib.services.geo import haversine_m
from chalicelib.services.owned import OwnedRecords
from chalicelib.services.search.describe import parse_description
from chalicelib.services.search.indexed import split_plan
from chalicelib.services.search.planner import Candidate, plan_search
from chalicelib.services.search.reducer import SearchReducer
from chalicelib.services.search.running import DeadlinePolicy, RunningSearches
from chalicelib.services.search.shard import finished_shards, indexed_key, plan_key, query_key, result_key
from chalicelib.services.search.stages import Stages
from chalicelib.services.search_index.records import INDEX_PREFIX, ModelTag
from chalicelib.services.search_index.store import IndexStore
from chalicelib.services.search_index.switch import IndexSwitches
from chalicelib.video.detect import Frame
from chalicelib.video.probe import ProbeError, TooManyPixels, image_size

logger = logging.getLogger(__name__)

SHARD_ENTRY_POINT = "functions.search_shard.handler.run_shard"
MAX_PHOTO_PIXELS = 4096 * 4096
PHOTO_WORKING_SIDE = 2048
MAX_CAMERAS = 50
FUTURE_SLACK_MS = 60_000


class PhotoRejected(ValidationFailed):
    """A subject photo is not a usable image of a person."""

    code = "photo_rejected"


def decode_photo(index: int, encoded: str) -> Frame:
    """Base64 JPEG/PNG → BGR image, or :class:`PhotoRejected` saying why."""
    try:
        data = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise PhotoRejected(f"photo {index + 1} is not valid base64") from exc
    if not (data.startswith(b"\xff\xd8\xff") or data.startswith(b"\x89PNG\r\n\x1a\n")):
        raise PhotoRejected(f"photo {index + 1} is not a JPEG or PNG image")
    try:  # sized from its header: a 146 KB PNG can declare 900 megapixels
        width, height = image_size(data, max_pixels=MAX_PHOTO_PIXELS)
    except TooManyPixels as exc:
        raise PhotoRejected(f"photo {index + 1} is larger than {MAX_PHOTO_PIXELS} pixels") from exc
    except ProbeError as exc:
        raise PhotoRejected(f"photo {index + 1} could not be decoded as an image") from exc
    # a large photo is decoded at half size (JPEG by DCT scaling): the detector and the embedder work
    # far below 2048 pixels, and the framed copy person_crop makes stays small
    flags = cv2.IMREAD_REDUCED_COLOR_2 if max(width, height) > PHOTO_WORKING_SIDE else cv2.IMREAD_COLOR
    decoded = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), flags)
    if decoded is None or decoded.size == 0:
        raise PhotoRejected(f"photo {index + 1} could not be decoded as an image")
    image: Frame = np.asarray(decoded, dtype=np.uint8)
    return image


def person_crop(index: int, image: Frame, stages: Stages) -> Frame:
    """The most prominent person in a photo. The photo is framed in a neutral border first, so a
    tight crop of a person (a CCTV still) is still found by the detector."""
    h, w = image.shape[:2]
    pad_y, pad_x = h // 4, w // 4
    framed: Frame = np.asarray(cv2.copyMakeBorder(image, pad_y, pad_y, pad_x, pad_x, cv2.BORDER_CONSTANT,
                                                  value=(114, 114, 114)), dtype=np.uint8)
    people = [d for d in stages.detector.detect([framed])[0] if d.label == "person"]
    if not people:
        raise PhotoRejected(f"no person found in photo {index + 1}")
    best = max(people, key=lambda d: d.width * d.height * d.score)
    x1, x2 = (int(np.clip(v - pad_x, 0, w)) for v in (best.x1, best.x2))
    y1, y2 = (int(np.clip(v - pad_y, 0, h)) for v in (best.y1, best.y2))
    if x2 - x1 < 8 or y2 - y1 < 16:
        raise PhotoRejected(f"the person in photo {index + 1} is too small to recognise")
    return np.ascontiguousarray(image[y1:y2, x1:x2])


def encode_photos(photos: Sequence[str], stages: Stages) -> tuple[list[list[float]], str | None]:
    if not photos:
        return [], None
    crops = [person_crop(i, decode_photo(i, p), stages) for i, p in enumerate(photos)]
    vectors = stages.embedder.embed(crops)
    return [[round(float(v), 6) for v in row] for row in vectors], stages.embedder.name


def apply_description(request: SearchRequest) -> tuple[SearchRequest, list[str]]:
    """The request with the colours its free-text description names (explicit colour fields win), and the
    words of the description that were not understood; a description that names no colour, with nothing
    else to look for, is refused with those words."""
    if not request.description:
        return request, []
    described = parse_description(request.description)
    if not described.understood and not request.photos and request.upper_color is None \
            and request.lower_color is None:
        raise ValidationFailed(f"the description names no clothing colour; not understood: "
                               f"{', '.join(described.unknown) or request.description}", code="description_not_understood")
    update = {"upper_color": request.upper_color or described.upper_color,
              "lower_color": request.lower_color or described.lower_color}
    return request.model_copy(update=update), described.unknown


class SearchService:
    def __init__(self, *, cameras: CameraRegistry, footage: FootageCatalog, media: ObjectStore,
                 records: OwnedRecords, running: RunningSearches, executor: BatchExecutor,
                 stages: Callable[[], Stages], retention_days: int, deadlines: DeadlinePolicy | None = None,
                 sample_fps: float = 2.0, shard_seconds: float = 120.0, max_shards: int = 64,
                 link_seconds: int = 3600, shard_threads: int | None = None,
                 index: IndexStore | None = None, index_media: ObjectStore | None = None,
                 index_switches: IndexSwitches | None = None,
                 reducer: SearchReducer | None = None, clock: Clock = now_ms) -> None:
        self._cameras = cameras
        self._footage = footage
        self._media = media
        self._records = records
        self._running = running
        self._deadlines = deadlines or DeadlinePolicy()
        self._executor = executor
        self._stages = stages
        self._retention_ms = retention_days * DAY_MS
        self._sample_fps = sample_fps
        self._shard_seconds = shard_seconds
        self._max_shards = max_shards
        self._link_seconds = link_seconds
        self._shard_parameters = {} if shard_threads is None else {"threads": str(shard_threads)}
        self._index = index
        self._index_media = index_media  # where index thumbnails live (beside the footage)
        self._index_switches = index_switches
        self._reducer = reducer
        self._clock = clock

    # ---- starting ----------------------------------------------------------------------

    def start(self, owner_id: str, request: SearchRequest) -> SearchAnswer:
        now = self._clock()
        seen = request.last_seen
        if seen.time_ms > now + FUTURE_SLACK_MS:
            raise ValidationFailed("last_seen.at is in the future")
        if seen.time_ms < now - self._retention_ms:
            raise ValidationFailed(f"the window starts before the {self._retention_ms // DAY_MS}-day footage "
                                   "retention: that footage no longer exists", code="beyond_retention")
        request, unknown = apply_description(request)
        embeddings, embedder = encode_photos(request.photos, self._stages()) if request.photos else ([], None)
        search_id = f"srch-{uuid.uuid4().hex}"
        plan = plan_search(search_id, last_seen_ms=seen.time_ms, window_ms=request.window_minutes * 60_000,
                           max_speed_mps=request.max_speed_mps, candidates=self._candidates(request),
                           segments=self._footage.segments_covering, shard_seconds=self._shard_seconds,
                           max_shards=self._max_shards)
        query = SearchQuery(embeddings=embeddings, embedder=embedder, upper_color=request.upper_color,
                            lower_color=request.lower_color, top_k=request.top_k, sample_fps=self._sample_fps,
                            min_score=0.5 if embeddings else 0.4)
        indexed: IndexedPart | None = None
        if self._index is not None and self._reducer is not None and plan.shards:
            stages = self._stages()
            plan, indexed = split_plan(plan, query, self._index, ModelTag(stages.embedder.name,
                                                                          stages.embedder_version),
                                       shard_seconds=self._shard_seconds, max_shards=self._max_shards,
                                       off=self._index_switches.off() if self._index_switches else frozenset())
            self._media.put(indexed_key(search_id), indexed.model_dump_json().encode(),
                            content_type="application/json")
        self._media.put(plan_key(search_id), plan.model_dump_json().encode(), content_type="application/json")
        self._media.put(query_key(search_id), query.model_dump_json().encode(), content_type="application/json")
        body: dict[str, object] = {"status": SearchStatus.RUNNING.value, "shards": len(plan.shards),
                                   "footage_seconds": str(round(plan.footage_seconds, 3))}
        if indexed is not None and not plan.shards:  # the index covered the whole cone: answer now
            return self._answer_indexed(search_id, owner_id, body, now).model_copy(
                update={"description_unknown": unknown})
        if not plan.shards:
            answer = self._empty_answer(plan, now, self._nothing_to_search(plan))
            self._media.put(result_key(search_id), answer.model_dump_json().encode(), content_type="application/json")
            body.update(status=SearchStatus.DONE.value, reason=answer.reason, result_key=result_key(search_id))
            self._records.create(search_id, owner_id, body, created_ms=now)
            return answer.model_copy(update={"description_unknown": unknown})
        deadline_ms = self._deadlines.deadline_ms(now, plan)
        body["deadline_ms"] = deadline_ms
        self._records.create(search_id, owner_id, body, created_ms=now)
        self._running.add(search_id, deadline_ms)  # before the job: a search whose submit is lost still ends
        job_id = self._executor.submit(f"search-{search_id[:12]}", SHARD_ENTRY_POINT, len(plan.shards),
                                       {"search_id": search_id, **self._shard_parameters})
        with contextlib.suppress(Conflict):  # already ended (its shards raced the submit's return): keep that
            self._records.replace(search_id, {**body, "job_id": job_id},
                                  expect={"status": SearchStatus.RUNNING.value})
        logger.info("search started", extra={"search_id": search_id, "shards": len(plan.shards),
                                             "cameras": len(plan.cameras), "footage_s": plan.footage_seconds})
        answer = self._progress(search_id, plan, now, SearchStatus.RUNNING, deadline_ms=deadline_ms)
        return answer.model_copy(update={"description_unknown": unknown})

    def _answer_indexed(self, search_id: str, owner_id: str, body: dict[str, object], now: int) -> SearchAnswer:
        """End a search the index answered whole through the reducer (store, 112, exactly once), as shards would."""
        assert self._reducer is not None
        self._records.create(search_id, owner_id, {**body, "shards": 0}, created_ms=now)
        answer = self._reducer.on_shard_done(search_id)
        if answer is None:  # ended by a concurrent finaliser: read what it stored
            return self.get(owner_id, search_id)
        logger.info("search answered from the index", extra={"search_id": search_id, "hits": len(answer.hits)})
        return answer.model_copy(update={"hits": [self._with_link(t) for t in answer.hits]})

    def _candidates(self, request: SearchRequest) -> list[Candidate]:
        seen = request.last_seen
        if request.camera_ids:
            out = []
            for camera_id in dict.fromkeys(request.camera_ids):
                try:
                    camera = self._cameras.get(camera_id)
                except NotFound as exc:
                    raise ValidationFailed(f"unknown camera {camera_id}") from exc
                out.append(Candidate(camera, haversine_m(seen.lat, seen.lon, camera.lat, camera.lon)))
            return out
        reach = request.max_speed_mps * request.window_minutes * 60
        radius = min(request.radius_m or reach, reach, 50_000.0)
        nearby = self._cameras.nearest(seen.lat, seen.lon, k=MAX_CAMERAS, radius_m=max(radius, 1.0))
        return [Candidate(n.camera, n.distance_m) for n in nearby.cameras]

    @staticmethod
    def _nothing_to_search(plan: SearchPlan) -> str:
        if not plan.excluded:
            return "no cameras within reach of the last-seen place"
        return "no camera in reach recorded footage in the window"

    # ---- reading -----------------------------------------------------------------------

    def get(self, owner_id: str, search_id: str) -> SearchAnswer:
        record = self._records.get(search_id, owner_id)
        created = int(record["created_ms"])
        if record.get("status") != SearchStatus.RUNNING.value:  # ended: the answer the winning finaliser stored
            key = str(record.get("result_key") or result_key(search_id))
            answer = SearchAnswer.model_validate_json(self._media.get(key))
            return answer.model_copy(update={"hits": [self._with_link(t) for t in answer.hits]})
        plan = SearchPlan.model_validate_json(self._media.get(plan_key(search_id)))
        reason, failed = None, 0
        job_id = record.get("job_id")
        if job_id:
            try:
                job = self._executor.status(str(job_id))
            except (LookupError, TransientError):
                job = None
            if job is not None and job.done and job.failed:
                # Still running until the sweeper ends it with the shards that finished (minutes at most).
                failed = job.failed
                reason = (f"{job.failed} of {job.total} shards failed; the search is being finalised with the "
                          "shards that finished")
        deadline = record.get("deadline_ms")
        return self._progress(search_id, plan, created, SearchStatus.RUNNING, reason, shards_failed=failed,
                              deadline_ms=int(deadline) if deadline is not None else None)

    def _progress(self, search_id: str, plan: SearchPlan, created_ms: int, status: SearchStatus,
                  reason: str | None = None, *, shards_failed: int = 0,
                  deadline_ms: int | None = None) -> SearchAnswer:
        done = {i for i in finished_shards(self._media, search_id) if i < len(plan.shards)}
        return SearchAnswer(search_id=search_id, status=status, created_ms=created_ms, shards_done=len(done),
                            shards_total=len(plan.shards), shards_failed=shards_failed, deadline_ms=deadline_ms,
                            footage_seconds_done=round(sum(plan.shard_seconds(i) for i in done), 3),
                            footage_seconds_total=round(plan.footage_seconds, 3),
                            cameras=[c.camera_id for c in plan.cameras], excluded=plan.excluded, reason=reason,
                            coverage=self._coverage(search_id))

    def _coverage(self, search_id: str) -> SearchCoverage | None:
        if self._index is None:
            return None
        try:
            return IndexedPart.model_validate_json(self._media.get(indexed_key(search_id))).coverage
        except ObjectMissing:
            return None

    def _empty_answer(self, plan: SearchPlan, created_ms: int, reason: str) -> SearchAnswer:
        return SearchAnswer(search_id=plan.search_id, status=SearchStatus.DONE, created_ms=created_ms, shards_done=0,
                            shards_total=0, footage_seconds_done=0, footage_seconds_total=0, cameras=[],
                            excluded=plan.excluded, reason=reason, elapsed_s=0.0)

    def _with_link(self, track: Track) -> Track:
        key = track.best.thumbnail_key
        if not key:
            return track
        store = self._index_media if key.startswith(f"{INDEX_PREFIX}/") and self._index_media else self._media
        best = track.best.model_copy(update={"thumbnail_url": store.presigned_get(key, expires_s=self._link_seconds)})
        return track.model_copy(update={"best": best})
