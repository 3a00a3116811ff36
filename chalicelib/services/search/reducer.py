"""The reducer: merge shard results, group sightings into tracks, rank, build the route.

* Tracks: on one camera, sightings less than ``track_gap_ms`` apart whose boxes moved plausibly
  (centre shift ≤ ``max_px_per_s`` per second) and look alike (height within a third, an upper or
  lower clothing colour in common) are one person passing by; a track scores the mean
  of its best three sightings (one lucky frame does not outrank a steady match).
* Route: the highest-scoring time-ordered chain of tracks in which every move between cameras is
  possible at walking speed (distance / time between leaving one and reaching the next ≤ v).
* :class:`SearchReducer` ends a search: once all of its shards are in (``on_shard_done``, from the
  shard-done notifications), or earlier with the shards that finished (``finalise``, from the sweeper when
  shards failed or the deadline passed). Either way it stores the answer under a key of its own, then moves
  the record running → done (failed when no shard finished) with a conditional write that also points the
  record at that answer, so exactly one caller wins; only the winner sends the answer to 112.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from chalicelib.clock import Clock, now_ms
from chalicelib.errors import Conflict, ObjectMissing
from chalicelib.models.dispatch import AgencyTarget
from chalicelib.models.search import (
    IndexedPart,
    PlannedCamera,
    RouteStop,
    SearchAnswer,
    SearchPlan,
    SearchStatus,
    ShardResult,
    Sighting,
    Track,
)
from chalicelib.ports import ObjectStore
from chalicelib.services.dispatch.service import DispatchService
from chalicelib.services.geo import haversine_m
from chalicelib.services.owned import OwnedRecords
from chalicelib.services.search.running import RunningSearches
from chalicelib.services.search.shard import finished_shards, indexed_key, plan_key, shard_key

logger = logging.getLogger(__name__)


def _centre(s: Sighting) -> tuple[float, float]:
    return (s.box.x1 + s.box.x2) / 2, (s.box.y1 + s.box.y2) / 2


def _alike(a: Sighting, b: Sighting) -> bool:
    """Whether two sightings can be one person a moment apart: about the same height, and not two
    different outfits (a crowd puts other people within a walking step of anyone)."""
    ha, hb = a.box.y2 - a.box.y1, b.box.y2 - b.box.y1
    if ha <= 0 or not 0.75 <= hb / ha <= 1.33:
        return False
    return a.upper == b.upper or a.lower == b.lower


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
                if shift <= max_px_per_s * dt / 1000 + 20 and shift < best_shift and _alike(last, s):
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


def reduce_results(plan: SearchPlan, results: Sequence[ShardResult], *, max_hits: int = 50,
                   indexed: Sequence[Track] = ()) -> Reduction:
    """Shard sightings grouped into tracks, with the tracks the index answered, ranked together."""
    sightings = [s for r in results for s in r.sightings]
    tracks = sorted([*group_tracks(sightings), *indexed], key=lambda t: (-t.score, t.start_ms))
    return Reduction(hits=tracks[:max_hits],
                     route=build_route(tracks, plan.cameras, max_speed_mps=plan.max_speed_mps),
                     footage_seconds=round(sum(r.footage_seconds for r in results), 3),
                     detector=results[0].detector if results else None,
                     embedder=results[0].embedder if results else None,
                     errors=[e for r in results for e in r.errors])


ANNOUNCE_GRACE_MS = 60_000  # a winning finaliser sends within milliseconds of its write; after this, it died


def answer_key(search_id: str) -> str:
    """A fresh key for one finaliser's answer: racing finalisers never overwrite each other's, and the record's
    winning write names the one that counts (``result_key``)."""
    return f"searches/{search_id}/results/{uuid.uuid4().hex}.json"


@dataclass(frozen=True)
class RunningSearch:
    """A running search as a finaliser sees it: its record, its plan and the shards that stored a result."""

    search_id: str
    record: dict[str, Any]
    plan: SearchPlan
    finished: frozenset[int]

    @property
    def missing(self) -> int:
        return len(self.plan.shards) - len(self.finished)


def outcome_reason(reduction: Reduction, *, done: int, total: int, shortfall: str | None) -> str | None:
    """Why the answer is partial (shards missing), what went wrong inside shards, or that nothing matched."""
    parts = []
    if done < total:
        parts.append(f"{done} of {total} shards finished; {total - done} {shortfall or 'did not finish'}")
    if reduction.errors:
        parts.append("; ".join(reduction.errors[:5]))
    elif not reduction.hits and done:
        parts.append("no sighting scored above the threshold")
    return "; ".join(parts) or None


class SearchReducer:
    """Ends searches; of all the calls that try to end one search, exactly one wins and announces it.

    Announcing is send, then record ``dispatched_ms``, then drop the running-index entry. A finaliser
    that dies between its winning write and the send leaves an ended, unannounced search behind:
    :meth:`announce_if_lost` (called on every later shard notification and by the sweeper, which
    still finds the index entry) sends the stored answer once :data:`ANNOUNCE_GRACE_MS` have passed.
    Delivery to 112 is therefore at least once, as one agency dispatch per search (its id is the search's).
    """

    def __init__(self, media: ObjectStore, records: OwnedRecords, agencies: DispatchService, *,
                 running: RunningSearches, clock: Clock = now_ms) -> None:
        self._media = media
        self._records = records
        self._agencies = agencies
        self._running = running
        self._clock = clock

    def load(self, search_id: str, record: dict[str, Any] | None = None) -> RunningSearch | None:
        """The search with its plan and finished shards while it runs; None once it has ended."""
        if record is None:
            record = self._records.get(search_id, None)
        if record.get("status") != SearchStatus.RUNNING:
            return None
        plan = SearchPlan.model_validate_json(self._media.get(plan_key(search_id)))
        finished = frozenset(i for i in finished_shards(self._media, search_id) if i < len(plan.shards))
        return RunningSearch(search_id=search_id, record=record, plan=plan, finished=finished)

    def on_shard_done(self, search_id: str) -> SearchAnswer | None:
        """Called per finished shard; returns the answer when this call completed the search."""
        record = self._records.get(search_id, None)
        search = self.load(search_id, record)
        if search is None:  # already ended: a duplicate or late notification, or a redelivery after a crash
            self.announce_if_lost(search_id, record)
            return None
        if search.missing:
            return None  # shards still to come
        return self.finalise(search)

    def announce_if_lost(self, search_id: str, record: dict[str, Any], now_ms: int | None = None) -> bool:
        """Send the stored answer of a search that ended without reaching 112; True when sent now."""
        if record.get("status") == SearchStatus.RUNNING or "dispatched_ms" in record or "result_key" not in record:
            return False
        if (self._clock() if now_ms is None else now_ms) - int(record.get("finished_ms", 0)) < ANNOUNCE_GRACE_MS:
            return False  # its finaliser may be sending right now
        self._announce(search_id, record, SearchAnswer.model_validate_json(self._media.get(str(record["result_key"]))))
        logger.warning("search result sent to 112 after an interrupted finalisation", extra={"search_id": search_id})
        return True

    def _announce(self, search_id: str, record: dict[str, Any], answer: SearchAnswer) -> None:
        # to the police's receiving system like every dispatch: signed, retried, acknowledged (a resend after an
        # interrupted finalisation queues the same dispatch again: the agency sees one search_id)
        self._agencies.submit(search_id, AgencyTarget.POLICE, answer,
                              subject_owner_id=str(record.get("owner_id", "")), district=None, now_ms=self._clock())
        self._records.replace(search_id, {**record, "dispatched_ms": self._clock()},
                              expect={"status": record["status"]})
        if "deadline_ms" in record:
            self._running.remove(search_id, int(record["deadline_ms"]))

    def finalise(self, search: RunningSearch, *, shortfall: str | None = None) -> SearchAnswer | None:
        """Reduce the finished shards into the answer and end the search: done, ``partial`` when shards are
        missing (``shortfall`` says why, e.g. "failed in the batch job"), failed when none finished.
        Returns the answer when this call won the running → ended change (and so sent it to 112)."""
        search_id, plan, record = search.search_id, search.plan, search.record
        results = [ShardResult.model_validate_json(self._media.get(shard_key(search_id, i)))
                   for i in sorted(search.finished)]
        try:
            indexed: IndexedPart | None = IndexedPart.model_validate_json(self._media.get(indexed_key(search_id)))
        except ObjectMissing:
            indexed = None
        reduction = reduce_results(plan, results, indexed=indexed.hits if indexed else ())
        total, done = len(plan.shards), len(results)
        status = SearchStatus.DONE if done or not total else SearchStatus.FAILED
        created_ms, finished_ms = int(record["created_ms"]), self._clock()
        answer = SearchAnswer(
            search_id=search_id, status=status, created_ms=created_ms, shards_done=done, shards_total=total,
            shards_failed=total - done, partial=done < total,
            footage_seconds_done=reduction.footage_seconds, footage_seconds_total=round(plan.footage_seconds, 3),
            cameras=[c.camera_id for c in plan.cameras], excluded=plan.excluded, hits=reduction.hits,
            route=reduction.route, elapsed_s=round((finished_ms - created_ms) / 1000, 3),
            detector=reduction.detector, embedder=reduction.embedder,
            reason=outcome_reason(reduction, done=done, total=total, shortfall=shortfall),
            coverage=indexed.coverage if indexed else None)
        key = answer_key(search_id)
        self._media.put(key, answer.model_dump_json().encode(), content_type="application/json")
        ended = {**record, "status": status.value, "finished_ms": finished_ms, "result_key": key,
                 "shards_failed": total - done}
        try:  # the conditional state change elects exactly one finaliser to announce the result
            self._records.replace(search_id, ended, expect={"status": SearchStatus.RUNNING.value})
        except Conflict:
            return None  # a reducer or the sweeper ended it first; this call's answer object is never read
        self._announce(search_id, ended, answer)
        logger.info("search ended", extra={"search_id": search_id, "status": status.value, "shards_done": done,
                                           "shards_total": total, "hits": len(answer.hits),
                                           "route": len(answer.route)})
        return answer
