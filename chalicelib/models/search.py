"""Missing-person search: the API body, the plan the shards read, shard results and the answer."""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import AwareDatetime, Field, model_validator

from chalicelib.models.camera import CameraId
from chalicelib.models.common import EpochMs, Instant, Latitude, Location, Longitude, Message, Wire, epoch_ms

ColorName = Literal["red", "orange", "yellow", "green", "blue", "purple", "pink", "brown", "black", "white", "gray"]
MAX_PHOTO_BASE64 = 1_000_000  # ~750 kB decoded per photo (the API body limit applies too)
MAX_WINDOW_MINUTES = 24 * 60


class SearchStatus(StrEnum):
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class LastSeen(Message):
    """Where and when the person was last seen."""

    location: Location
    at: Instant = Field(description="When the person was last seen.")

    @property
    def lat(self) -> float:
        return self.location.lat

    @property
    def lon(self) -> float:
        return self.location.lon

    @property
    def time_ms(self) -> int:
        return epoch_ms(self.at)


class SearchRequest(Message):
    """``POST /v1/searches``: who to look for, where and when they were last seen."""

    photos: list[str] = Field(default_factory=list, max_length=3,
                              description="Photos of the person, base64 JPEG or PNG (each ≤ ~750 kB).")
    upper_color: ColorName | None = Field(None, description="Colour of the upper-body clothing.")
    lower_color: ColorName | None = Field(None, description="Colour of the lower-body clothing.")
    description: str | None = Field(None, min_length=1, max_length=500,
                                    description="What they wore, in Korean or English (\"빨간 상의에 검은 바지\"); "
                                                "upper_color/lower_color, when given, take precedence.")
    last_seen: LastSeen
    window_minutes: int = Field(60, ge=1, le=MAX_WINDOW_MINUTES,
                                description="How long after the last sighting to search.")
    camera_ids: list[CameraId] | None = Field(None, max_length=200, description="Search only these cameras.")
    radius_m: float | None = Field(None, gt=0, le=20_000, description="Search cameras within this distance.")
    max_speed_mps: float = Field(1.6, gt=0.2, le=5.0, description="Fastest plausible walking speed.")
    top_k: int = Field(20, ge=1, le=100, description="Sightings kept per camera.")

    @model_validator(mode="after")
    def _something_to_look_for(self) -> SearchRequest:
        if not self.photos and self.upper_color is None and self.lower_color is None and not self.description:
            raise ValueError("give at least one photo or a clothing colour (or a description of the clothing)")
        if any(len(p) > MAX_PHOTO_BASE64 for p in self.photos):
            raise ValueError(f"a photo is larger than {MAX_PHOTO_BASE64} base64 characters")
        return self


class SearchQuery(Message):
    """What every shard matches against (stored once per search)."""

    embeddings: list[list[float]] = Field(default_factory=list, description="L2-normalised photo embeddings.")
    embedder: str | None = Field(None, description="Embedder that produced them; shards must use the same.")
    upper_color: ColorName | None = None
    lower_color: ColorName | None = None
    top_k: int = Field(20, ge=1, le=100)
    sample_fps: float = Field(2.0, gt=0, le=30)
    min_score: float = Field(0.3, ge=0, le=1)


class ShardItem(Message):
    """A stretch of one recorded segment to search."""

    camera_id: str
    key: str = Field(description="Segment object key in the footage bucket.")
    segment_start_ms: EpochMs
    from_ms: EpochMs
    to_ms: EpochMs

    @property
    def seconds(self) -> float:
        return max(0, self.to_ms - self.from_ms) / 1000.0


class PlannedCamera(Message):
    camera_id: str
    lat: Latitude
    lon: Longitude
    distance_m: float = Field(ge=0)
    reachable_from_ms: EpochMs
    footage_seconds: float = Field(ge=0)


class SearchPlan(Message):
    search_id: str
    cameras: list[PlannedCamera]
    excluded: dict[str, str] = Field(default_factory=dict, description="Camera id → why it is not searched.")
    shards: list[list[ShardItem]]
    window_start_ms: EpochMs
    window_end_ms: EpochMs
    max_speed_mps: float

    @property
    def footage_seconds(self) -> float:
        return sum(item.seconds for shard in self.shards for item in shard)

    def shard_seconds(self, index: int) -> float:
        return sum(item.seconds for item in self.shards[index])


class Box(Message):
    x1: float
    y1: float
    x2: float
    y2: float


class Sighting(Message):
    camera_id: str
    time_ms: EpochMs
    box: Box
    score: float = Field(ge=0, le=1)
    appearance: float | None = Field(None, description="Cosine similarity to the photo(s).")
    color: float | None = Field(None, description="Clothing-colour match 0..1.")
    upper: str = Field(description="Dominant upper-body colour.")
    lower: str = Field(description="Dominant lower-body colour.")
    thumbnail_key: str | None = None
    thumbnail_url: str | None = None


class ShardResult(Message):
    search_id: str
    index: int = Field(ge=0)
    sightings: list[Sighting]
    footage_seconds: float = Field(ge=0)
    frames_decoded: int = Field(ge=0)
    frames_searched: int = Field(ge=0)
    people_detected: int = Field(ge=0)
    detector: str
    embedder: str
    elapsed_s: float = Field(ge=0)
    errors: list[str] = Field(default_factory=list)


class Track(Message):
    """Sightings of one person on one camera, close in time."""

    camera_id: str
    start_ms: EpochMs
    end_ms: EpochMs
    score: float
    best: Sighting
    sightings: int = Field(ge=1)


class RouteStop(Message):
    camera_id: str
    lat: Latitude
    lon: Longitude
    arrived_ms: EpochMs
    left_ms: EpochMs
    score: float


class SearchCoverage(Message):
    """How much of the cone each path searched: the index (analysed at ingest) or decoding now (shards)."""

    indexed_seconds: float = Field(ge=0, description="Footage seconds of the cone answered from the index.")
    decoded_seconds: float = Field(ge=0, description="Footage seconds decoded by shards (not indexed yet, or "
                                                     "the camera's indexing is off).")
    indexed_cameras: list[str] = Field(default_factory=list, description="Cameras answered wholly from the index.")
    unindexed_cameras: list[str] = Field(default_factory=list,
                                         description="Cameras with footage in the cone that is not indexed.")
    index_model: str | None = Field(None, description="Re-id model (name@version) of the index records used.")
    index_off_cameras: list[str] = Field(default_factory=list,
                                         description="Cameras whose indexing an operator turned off: decoded, "
                                                     "their index records (if any) not read.")


class CameraIndexing(Message):
    """Whether a camera's footage is indexed for search (``search-index/off/<camera>.json`` while it is off)."""

    camera_id: str = Field(pattern=r"^[A-Za-z0-9._-]{1,64}$")
    indexing: bool = Field(description="False: kept out of the index (a privacy zone, a broken camera).")
    reason: str | None = Field(None, min_length=1, max_length=200, description="Why it was turned off.")
    changed_at: AwareDatetime


class CameraIndexingChange(Message):
    """``PUT /v1/search-index/cameras/{camera_id}``: turn a camera's indexing off or on again."""

    indexing: bool
    reason: str | None = Field(None, min_length=1, max_length=200, description="Why (kept while it is off).")


class CamerasIndexingOff(Message):
    """``GET /v1/search-index/cameras``: the cameras whose indexing is off (every other camera is indexed)."""

    cameras: list[CameraIndexing]


class IndexedPart(Message):
    """What the index answered for a search (``searches/<id>/indexed.json``), merged in by the reducer."""

    hits: list[Track]
    coverage: SearchCoverage


class SightingView(Wire):
    camera_id: str
    at: Instant
    box: Box
    score: float
    appearance: float | None = Field(None, description="Cosine similarity to the photo(s).")
    color: float | None = Field(None, description="Clothing-colour match 0..1.")
    upper: str = Field(description="Dominant upper-body colour.")
    lower: str = Field(description="Dominant lower-body colour.")
    thumbnail_url: str | None = None


class TrackView(Wire):
    """Sightings of one person on one camera, close in time."""

    camera_id: str
    start_at: Instant
    end_at: Instant
    score: float
    best: SightingView
    sightings: int


class RouteStopView(Wire):
    camera_id: str
    location: Location
    arrived_at: Instant
    left_at: Instant
    score: float


class SearchAnswerView(Wire):
    """``GET /v1/searches/{id}``: status, progress, hits and the route."""

    search_id: str
    status: SearchStatus
    created_at: Instant
    shards_done: int
    shards_total: int
    footage_seconds_done: float
    footage_seconds_total: float
    cameras: list[str]
    excluded: dict[str, str] = Field(default_factory=dict)
    hits: list[TrackView] = Field(default_factory=list)
    route: list[RouteStopView] = Field(default_factory=list)
    shards_failed: int = Field(0, description="Shards that failed or did not finish before the deadline.")
    partial: bool = Field(False, description="The search was finalised without every shard: hits and route cover "
                                             "only the footage that was searched (``reason`` says what is missing).")
    deadline_at: Instant | None = Field(None, description="While running: when the search is finalised with the "
                                                           "shards that finished, if it has not completed by then.")
    reason: str | None = None
    elapsed_s: float | None = None
    detector: str | None = None
    embedder: str | None = None
    coverage: SearchCoverage | None = Field(None, description="Indexed vs decoded share of the cone.")
    description_unknown: list[str] = Field(default_factory=list,
                                           description="Words of the description that were not understood.")


class SearchAnswer(Message):
    """A search's stored answer (``searches/<id>/result.json``)."""

    search_id: str
    status: SearchStatus
    created_ms: EpochMs
    shards_done: int
    shards_total: int
    footage_seconds_done: float
    footage_seconds_total: float
    cameras: list[str]
    excluded: dict[str, str] = Field(default_factory=dict)
    hits: list[Track] = Field(default_factory=list)
    route: list[RouteStop] = Field(default_factory=list)
    shards_failed: int = Field(0, ge=0, description="Shards that failed or did not finish before the deadline.")
    partial: bool = Field(False, description="The search was finalised without every shard: hits and route cover "
                                             "only the footage that was searched (``reason`` says what is missing).")
    deadline_ms: EpochMs | None = Field(None, description="While running: when the search is finalised with the "
                                                           "shards that finished, if it has not completed by then.")
    reason: str | None = None
    elapsed_s: float | None = None
    detector: str | None = None
    embedder: str | None = None
    coverage: SearchCoverage | None = Field(None, description="Indexed vs decoded share of the cone.")
    description_unknown: list[str] = Field(default_factory=list,
                                           description="Words of the description that were not understood.")


class CameraHour(Message):
    camera_id: str = Field(pattern=r"^[A-Za-z0-9._-]{1,64}$")
    hour_ms: EpochMs = Field(description="Start of the hour (UTC).")


class ReindexRequest(Message):
    """Re-index cameras over a time range with the current re-id model (after a model change, a fix)."""

    camera_ids: list[CameraId] = Field(min_length=1, max_length=1000)
    start: AwareDatetime = Field(description="From (RFC 3339); whole hours are re-indexed.")
    end: AwareDatetime = Field(description="Until (RFC 3339, exclusive).")
    max_tasks: int = Field(50, ge=1, le=10_000, description="Array job size at most (camera-hours are dealt out).")

    @model_validator(mode="after")
    def _ordered(self) -> ReindexRequest:
        if self.end <= self.start:
            raise ValueError("end must be after start")
        if (self.end - self.start).total_seconds() > 31 * 24 * 3600:
            raise ValueError("a re-index covers at most 31 days at once")
        return self

    @property
    def start_ms(self) -> int:
        return round(self.start.timestamp() * 1000)

    @property
    def end_ms(self) -> int:
        return round(self.end.timestamp() * 1000)


class ReindexPlan(Message):
    """``search-index/reindex/<job id>/plan.json``: what each task of the array job re-indexes."""

    job_id: str
    model: str = Field(description="name@version of the re-id model the job indexes with.")
    tasks: list[list[CameraHour]]
    skipped_cameras: list[str] = Field(default_factory=list, description="Cameras whose indexing is off.")
    batch_job_id: str | None = None


class ReindexProgress(Message):
    """``GET /v1/search-index/reindex/{job_id}``: camera-hours done of the plan, and the array job's tasks."""

    job_id: str
    model: str
    camera_hours_total: int = Field(ge=0)
    camera_hours_done: int = Field(ge=0)
    tasks_total: int = Field(ge=0)
    tasks_succeeded: int = Field(ge=0)
    tasks_failed: int = Field(ge=0)
    skipped_cameras: list[str] = Field(default_factory=list, description="Cameras whose indexing is off.")
    finished: bool = Field(description="Every task has ended (succeeded or failed).")
