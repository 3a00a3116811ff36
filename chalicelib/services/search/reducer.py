"""The reducer: merge shard results, group sightings into tracks, rank, build the route.

* Tracks: on one camera, sightings less than ``track_gap_ms`` apart whose boxes moved plausibly
  (centre shift ≤ ``max_px_per_s`` per second) are one person passing by; a track scores the mean
  of its best three sightings (one lucky frame does not outrank a steady match).
* Route: the highest-scoring time-ordered chain of tracks in which every move between cameras is
  possible at walking speed (distance / time between leaving one and reaching the next ≤ v).
* :class:`SearchReducer` runs once all shards of a search are in: it stores ``result.json``, marks
  the search done (a conditional write, so exactly one reducer wins) and sends the result to 112.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from chalicelib.errors import Conflict
from chalicelib.models.search import (
    PlannedCamera,
    RouteStop,
    SearchAnswer,
    SearchPlan,
    SearchStatus,
    ShardResult,
    Sighting,
    Track,
)
from chalicelib.ports import MessageQueue, ObjectStore
from chalicelib.services.geo import haversine_m
from chalicelib.services.owned import OwnedRecords
from chalicelib.services.search.shard import finished_shards, plan_key, result_key, shard_key

logger = logging.getLogger(__name__)


def _centre(s: Sighting) -> tuple[float, float]:
    return (s.box.x1 + s.box.x2) / 2, (s.box.y1 + s.box.y2) / 2


def group_tracks(sightings: Sequence[Sighting], *, track_gap_ms: int = 2_500,
                 max_px_per_s: float = 250.0) -> list[Track]:
    """Tracks per camera, best first."""
    by_camera: dict[str, list[Sighting]] = {}
    for s in sightings:
        by_camera.setdefault(s.camera_id, []).append(s)
    tracks: list[Track] = []
    for camera_id, items in by_camera.items():
        open_groups: list[list[Sighting]] = []
        for s in sorted(items, key=lambda x: (x.time_ms, -x.score)):
            best_group, best_shift = None, float("inf")
            for group in open_groups:
                last = group[-1]
                dt = s.time_ms - last.time_ms
                if dt > track_gap_ms or dt <= 0:
                    continue
                (x0, y0), (x1, y1) = _centre(last), _centre(s)
                shift = ((x1 - x0) ** 2 + (y1 - y0) ** 2) ** 0.5
                if shift <= max_px_per_s * dt / 1000 + 20 and shift < best_shift:
                    best_group, best_shift = group, shift
            if best_group is None:
                open_groups.append([s])
            else:
                best_group.append(s)
        for group in open_groups:
            top = sorted((g.score for g in group), reverse=True)[:3]
            best = max(group, key=lambda g: g.score)
            tracks.append(Track(camera_id=camera_id, start_ms=group[0].time_ms, end_ms=group[-1].time_ms,
                                score=round(sum(top) / len(top), 4), best=best, sightings=len(group)))
    tracks.sort(key=lambda t: (-t.score, t.start_ms))
    return tracks


def build_route(tracks: Sequence[Track], cameras: Sequence[PlannedCamera], *, max_speed_mps: float,
                min_score: float = 0.3, relative: float = 0.75) -> list[RouteStop]:
    """Best-scoring chain of tracks, in time order, reachable one from the next at ``max_speed_mps``.

    Only tracks scoring at least ``relative`` × the best track (and ``min_score``) are considered, so
    the route follows the likeliest sightings rather than collecting every weak one on the way."""
    where = {c.camera_id: c for c in cameras}
    floor = max(min_score, relative * max((t.score for t in tracks), default=0.0))
    candidates = sorted((t for t in tracks if t.score >= floor and t.camera_id in where),
                        key=lambda t: t.start_ms)
    if not candidates:
        return []
    total = [t.score for t in candidates]
    previous: list[int | None] = [None] * len(candidates)
    for j, later in enumerate(candidates):
        for i in range(j):
            earlier = candidates[i]
            if earlier.end_ms > later.start_ms:
                continue
            a, b = where[earlier.camera_id], where[later.camera_id]
            distance = 0.0 if a.camera_id == b.camera_id else haversine_m(a.lat, a.lon, b.lat, b.lon)
            seconds = (later.start_ms - earlier.end_ms) / 1000
            if distance > max_speed_mps * seconds:
                continue
            if total[i] + later.score > total[j]:
                total[j], previous[j] = total[i] + later.score, i
    cursor: int | None = max(range(len(candidates)), key=lambda k: total[k])
    chain: list[Track] = []
    while cursor is not None:
        chain.append(candidates[cursor])
        cursor = previous[cursor]
    chain.reverse()
    stops: list[RouteStop] = []
    for t in chain:  # consecutive tracks on one camera are one stop
        cam = where[t.camera_id]
        if stops and stops[-1].camera_id == t.camera_id:
            last = stops[-1]
            stops[-1] = last.model_copy(update={"left_ms": t.end_ms, "score": max(last.score, t.score)})
        else:
            stops.append(RouteStop(camera_id=t.camera_id, lat=cam.lat, lon=cam.lon, arrived_ms=t.start_ms,
                                   left_ms=t.end_ms, score=t.score))
    return stops


@dataclass(frozen=True)
class Reduction:
    hits: list[Track]
    route: list[RouteStop]
    footage_seconds: float
    detector: str | None
    embedder: str | None
    errors: list[str]


def reduce_results(plan: SearchPlan, results: Sequence[ShardResult], *, max_hits: int = 50) -> Reduction:
    sightings = [s for r in results for s in r.sightings]
    tracks = group_tracks(sightings)
    return Reduction(hits=tracks[:max_hits],
                     route=build_route(tracks, plan.cameras, max_speed_mps=plan.max_speed_mps),
                     footage_seconds=round(sum(r.footage_seconds for r in results), 3),
                     detector=results[0].detector if results else None,
                     embedder=results[0].embedder if results else None,
                     errors=[e for r in results for e in r.errors])


def _epoch_ms() -> int:
    return time.time_ns() // 1_000_000


class SearchReducer:
    """Reduces a search once every shard result is stored; exactly one call finishes it."""

    def __init__(self, media: ObjectStore, records: OwnedRecords, dispatch: MessageQueue,
                 clock: Callable[[], int] = _epoch_ms) -> None:
        self._media = media
        self._records = records
        self._dispatch = dispatch
        self._clock = clock

    def on_shard_done(self, search_id: str) -> SearchAnswer | None:
        """Called per finished shard; returns the answer when this call completed the search."""
        record = self._records.get(search_id, None)
        if record.get("status") != SearchStatus.RUNNING:
            return None  # already reduced (a duplicate or late notification)
        plan = SearchPlan.model_validate_json(self._media.get(plan_key(search_id)))
        done = finished_shards(self._media, search_id)
        if len(done) < len(plan.shards):
            return None
        results = [ShardResult.model_validate_json(self._media.get(shard_key(search_id, i)))
                   for i in range(len(plan.shards))]
        reduction = reduce_results(plan, results)
        finished_ms = self._clock()
        answer = SearchAnswer(
            search_id=search_id, status=SearchStatus.DONE, created_ms=int(record["created_ms"]),
            shards_done=len(plan.shards), shards_total=len(plan.shards),
            footage_seconds_done=reduction.footage_seconds, footage_seconds_total=round(plan.footage_seconds, 3),
            cameras=[c.camera_id for c in plan.cameras], excluded=plan.excluded, hits=reduction.hits,
            route=reduction.route, elapsed_s=round((finished_ms - int(record["created_ms"])) / 1000, 3),
            detector=reduction.detector, embedder=reduction.embedder,
            reason=("; ".join(reduction.errors[:5]) or None) if reduction.errors else
            (None if reduction.hits else "no sighting scored above the threshold"))
        self._media.put(result_key(search_id), answer.model_dump_json().encode(), content_type="application/json")
        try:  # the conditional state change elects exactly one reducer to announce the result
            self._records.replace(search_id, {**record, "status": SearchStatus.DONE, "finished_ms": finished_ms},
                                  expect={"status": SearchStatus.RUNNING.value})
        except Conflict:
            return None
        self._dispatch.send(answer.model_dump_json(), attributes={"kind": "missing-person-search"})
        logger.info("search reduced", extra={"search_id": search_id, "hits": len(answer.hits),
                                             "route": len(answer.route)})
        return answer
