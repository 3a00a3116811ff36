"""The indexed path of a search: answer what the index covers, leave the rest of the plan to the shards.

The index is read once over the cone (each planned camera's reachable instant to the window's end, one file per
camera-hour, of the query's re-id model only), scoring the records of the planned segments as they are read.
A segment the index covers is answered from its records; the others stay in the plan and are rebalanced into
shards, decoded as before. A camera whose indexing is off (``off``) is decoded whole: none of its records is read.
"""

from __future__ import annotations

import math

from chalicelib.models.search import IndexedPart, SearchCoverage, SearchPlan, SearchQuery, ShardItem
from chalicelib.services.search.planner import balance
from chalicelib.services.search_index.query import search_index
from chalicelib.services.search_index.records import ModelTag
from chalicelib.services.search_index.store import IndexStore


def split_plan(plan: SearchPlan, query: SearchQuery, index: IndexStore, tag: ModelTag, *,
               shard_seconds: float, max_shards: int, off: frozenset[str] = frozenset()) -> tuple[SearchPlan, IndexedPart]:
    """(the plan left to the shards, what the index answered)."""
    items = [item for shard in plan.shards for item in shard]
    if not items:
        return plan, IndexedPart(hits=[], coverage=SearchCoverage(indexed_seconds=0, decoded_seconds=0))
    cameras = {c.camera_id: c for c in plan.cameras}
    planned: dict[str, frozenset[int]] = {}
    for item in items:
        planned[item.camera_id] = planned.get(item.camera_id, frozenset()) | {item.segment_start_ms}
    windows = {c: (cameras[c].reachable_from_ms, plan.window_end_ms) for c in planned if c not in off}
    answer = search_index(index, tag, windows, query, segments=planned)
    indexed = [i for i in items if i.segment_start_ms in answer.segments.get(i.camera_id, frozenset())]
    decoded = [i for i in items if i.segment_start_ms not in answer.segments.get(i.camera_id, frozenset())]
    hits = [h.track for h in answer.hits] if indexed else []
    unindexed = sorted({i.camera_id for i in decoded})
    coverage = SearchCoverage(indexed_seconds=round(sum(i.seconds for i in indexed), 3),
                              decoded_seconds=round(sum(i.seconds for i in decoded), 3),
                              indexed_cameras=sorted(set(cameras) - set(unindexed)), unindexed_cameras=unindexed,
                              index_model=tag.slug if indexed else None,
                              index_off_cameras=sorted(off & set(planned)))
    shards: list[list[ShardItem]] = []
    if decoded:
        count = min(max_shards, max(1, math.ceil(sum(i.seconds for i in decoded) / shard_seconds)))
        shards = balance(decoded, count)
    return plan.model_copy(update={"shards": shards}), IndexedPart(hits=hits, coverage=coverage)
