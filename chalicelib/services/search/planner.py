"""The search planner: a space-time cone over the camera network, then balanced shards.

A person last seen at point P at time t0 who walks at most ``v`` m/s cannot be on a camera at
distance ``d`` before ``t0 + d / v``. So each camera is searched only from that instant to the end
of the window; a camera whose earliest instant falls after the window is excluded (with the reason).
The footage stretches found are split into shards of about equal footage seconds (longest first
onto the lightest shard), because shard time is proportional to footage seconds.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from chalicelib.models.camera import Camera
from chalicelib.models.footage import FootageSegment
from chalicelib.models.search import PlannedCamera, SearchPlan, ShardItem

SegmentLookup = Callable[[str, int, int], list[FootageSegment]]


@dataclass(frozen=True)
class Candidate:
    camera: Camera
    distance_m: float


def reachable_from_ms(last_seen_ms: int, distance_m: float, max_speed_mps: float) -> int:
    """Earliest instant a walker could appear at ``distance_m`` from where they were last seen."""
    if max_speed_mps <= 0:
        raise ValueError("max_speed_mps must be positive")
    return last_seen_ms + math.ceil(distance_m / max_speed_mps * 1000)


def balance(items: Sequence[ShardItem], shard_count: int) -> list[list[ShardItem]]:
    """Longest-processing-time-first: each item onto the shard with the fewest seconds so far."""
    shard_count = max(1, min(shard_count, len(items)))
    heap = [(0.0, i) for i in range(shard_count)]
    shards: list[list[ShardItem]] = [[] for _ in range(shard_count)]
    for item in sorted(items, key=lambda it: (-it.seconds, it.camera_id, it.from_ms)):
        seconds, i = heapq.heappop(heap)
        shards[i].append(item)
        heapq.heappush(heap, (seconds + item.seconds, i))
    for shard in shards:
        shard.sort(key=lambda it: (it.camera_id, it.from_ms))
    return [s for s in shards if s]


def plan_search(search_id: str, *, last_seen_ms: int, window_ms: int, max_speed_mps: float,
                candidates: Sequence[Candidate], segments: SegmentLookup, shard_seconds: float = 120.0,
                max_shards: int = 64) -> SearchPlan:
    """Cameras inside the cone, the footage they recorded there, balanced into shards."""
    end_ms = last_seen_ms + window_ms
    cameras: list[PlannedCamera] = []
    excluded: dict[str, str] = {}
    items: list[ShardItem] = []
    for candidate in candidates:
        camera = candidate.camera
        earliest = reachable_from_ms(last_seen_ms, candidate.distance_m, max_speed_mps)
        if earliest >= end_ms:
            excluded[camera.camera_id] = (f"{candidate.distance_m:.0f} m away: not reachable at "
                                          f"{max_speed_mps:g} m/s before the window ends")
            continue
        found = [ShardItem(camera_id=camera.camera_id, key=s.key, segment_start_ms=s.start_ms,
                           from_ms=max(s.start_ms, earliest), to_ms=min(s.end_ms, end_ms))
                 for s in segments(camera.camera_id, earliest, end_ms)]
        found = [f for f in found if f.to_ms > f.from_ms]
        if not found:
            excluded[camera.camera_id] = "no recorded footage in its part of the window"
            continue
        items.extend(found)
        cameras.append(PlannedCamera(camera_id=camera.camera_id, lat=camera.lat, lon=camera.lon,
                                     distance_m=round(candidate.distance_m, 1), reachable_from_ms=earliest,
                                     footage_seconds=round(sum(f.seconds for f in found), 3)))
    total = sum(item.seconds for item in items)
    count = min(max_shards, max(1, math.ceil(total / shard_seconds))) if items else 0
    return SearchPlan(search_id=search_id, cameras=cameras, excluded=excluded,
                      shards=balance(items, count) if items else [], window_start_ms=last_seen_ms,
                      window_end_ms=end_ms, max_speed_mps=max_speed_mps)
