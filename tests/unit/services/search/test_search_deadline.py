"""A search's deadline and the reason a finalised search gives (pure)."""

from __future__ import annotations

from chalicelib.models.search import PlannedCamera, SearchPlan, ShardItem
from chalicelib.services.search.reducer import Reduction, outcome_reason
from chalicelib.services.search.running import DeadlinePolicy

T0 = 1_800_000_000_000
CAMERA = PlannedCamera(camera_id="A", lat=37.0, lon=127.0, distance_m=0, reachable_from_ms=T0, footage_seconds=0)


def _plan(*shard_seconds: int) -> SearchPlan:
    shards = [[ShardItem(camera_id="A", key=f"k{i}", segment_start_ms=T0, from_ms=T0, to_ms=T0 + s * 1000)]
              for i, s in enumerate(shard_seconds)]
    return SearchPlan(search_id="x", cameras=[CAMERA], shards=shards, window_start_ms=T0,
                      window_end_ms=T0 + 3_600_000, max_speed_mps=1.6)


def _reduction(*, hits: bool, errors: tuple[str, ...] = ()) -> Reduction:
    from chalicelib.models.search import Box, Sighting, Track

    best = Sighting(camera_id="A", time_ms=T0, box=Box(x1=0, y1=0, x2=10, y2=20), score=0.9, upper="red",
                    lower="blue")
    tracks = [Track(camera_id="A", start_ms=T0, end_ms=T0, score=0.9, best=best, sightings=1)] if hits else []
    return Reduction(hits=tracks, route=[], footage_seconds=60, detector="hog", embedder="color",
                     errors=list(errors))


def test_the_deadline_is_the_minimum_unless_the_largest_shard_needs_longer():
    policy = DeadlinePolicy(min_s=1800, per_footage_s=1.5)
    # GIVEN shards of ordinary size THEN the minimum applies
    assert policy.deadline_ms(T0, _plan(120, 100)) == T0 + 1_800_000
    # GIVEN one shard of 30 minutes of footage THEN it sets the pace (shards run in parallel)
    assert policy.deadline_ms(T0, _plan(60, 1800)) == T0 + 2_700_000


def test_a_complete_answer_keeps_the_reducers_reasons():
    assert outcome_reason(_reduction(hits=True), done=2, total=2, shortfall=None) is None
    assert outcome_reason(_reduction(hits=False), done=2, total=2, shortfall=None) == \
        "no sighting scored above the threshold"
    assert outcome_reason(_reduction(hits=True, errors=("k1: corrupt",)), done=2, total=2, shortfall=None) == \
        "k1: corrupt"


def test_a_partial_answer_says_first_what_is_missing_and_why():
    reason = outcome_reason(_reduction(hits=False), done=3, total=4, shortfall="failed in the batch job")
    assert reason == "3 of 4 shards finished; 1 failed in the batch job; no sighting scored above the threshold"
    assert outcome_reason(_reduction(hits=False), done=0, total=2, shortfall="did not finish within 30 minutes") == \
        "0 of 2 shards finished; 2 did not finish within 30 minutes"
