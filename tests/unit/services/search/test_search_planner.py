"""The planner's space-time cone and shard balancing (pure: cameras and segments are plain values)."""

from __future__ import annotations

from chalicelib.models.camera import Camera, CameraKind
from chalicelib.models.footage import FootageSegment
from chalicelib.models.search import ShardItem
from chalicelib.services.search.planner import Candidate, balance, plan_search, reachable_from_ms

T0 = 1_800_000_000_000


def _camera(cid: str) -> Camera:
    return Camera(camera_id=cid, kind=CameraKind.CRIME_PREVENTION, district="Jung-gu", lat=37.5665, lon=126.978)


def _footage(seconds: int = 3600, segment_s: int = 10):
    """Every camera recorded continuously from T0 for ``seconds``."""

    def lookup(camera_id: str, t1: int, t2: int) -> list[FootageSegment]:
        out = []
        for start in range(T0, T0 + seconds * 1000, segment_s * 1000):
            end = start + segment_s * 1000
            if end > t1 and start < t2:
                out.append(FootageSegment(camera_id=camera_id, start_ms=start, end_ms=end,
                                          key=f"footage/{camera_id}/{start}.ts", fps=10, width=768, height=576,
                                          bytes=1))
        return out

    return lookup


def test_camera_too_far_to_reach_within_the_window_is_excluded():
    # GIVEN a 10-minute window, walking at most 1.5 m/s (900 m in the window), and three cameras
    candidates = [Candidate(_camera("NEAR"), 0.0), Candidate(_camera("MID"), 450.0), Candidate(_camera("FAR"), 1200.0)]
    # WHEN the search is planned
    plan = plan_search("s1", last_seen_ms=T0, window_ms=600_000, max_speed_mps=1.5, candidates=candidates,
                       segments=_footage())
    # THEN the far camera is excluded with the reason, and the mid one is searched only from t0 + 300 s
    assert [c.camera_id for c in plan.cameras] == ["NEAR", "MID"]
    assert "not reachable" in plan.excluded["FAR"]
    mid = next(c for c in plan.cameras if c.camera_id == "MID")
    assert mid.reachable_from_ms == T0 + 300_000 and mid.footage_seconds == 300.0
    items = [i for shard in plan.shards for i in shard]
    assert min(i.from_ms for i in items if i.camera_id == "MID") == T0 + 300_000
    assert max(i.to_ms for i in items) == T0 + 600_000
    assert plan.footage_seconds == 900.0


def test_camera_without_footage_in_its_part_of_the_window_is_excluded():
    plan = plan_search("s2", last_seen_ms=T0 + 7200_000, window_ms=600_000, max_speed_mps=1.5,
                       candidates=[Candidate(_camera("NEAR"), 10.0)], segments=_footage(seconds=3600))
    assert plan.cameras == [] and plan.shards == []
    assert "no recorded footage" in plan.excluded["NEAR"]


def test_reachability_is_distance_over_speed():
    assert reachable_from_ms(T0, 160.0, 1.6) == T0 + 100_000


def test_shards_are_balanced_by_footage_seconds():
    # GIVEN items of 10 s ×6 and 30 s ×2 (120 s) split three ways
    items = [ShardItem(camera_id=f"C{i}", key=f"k{i}", segment_start_ms=0, from_ms=0, to_ms=10_000) for i in range(6)]
    items += [ShardItem(camera_id=f"L{i}", key=f"l{i}", segment_start_ms=0, from_ms=0, to_ms=30_000) for i in range(2)]
    shards = balance(items, 3)
    # THEN every shard holds 40 s and every item is placed once
    assert sorted(sum(i.seconds for i in s) for s in shards) == [40.0, 40.0, 40.0]
    assert sorted(i.key for s in shards for i in s) == sorted(i.key for i in items)


def test_shard_count_follows_footage_and_its_cap():
    candidates = [Candidate(_camera(f"C{i}"), 0.0) for i in range(4)]
    plan = plan_search("s3", last_seen_ms=T0, window_ms=600_000, max_speed_mps=1.5, candidates=candidates,
                       segments=_footage(), shard_seconds=300.0, max_shards=5)
    # 4 cameras × 600 s = 2400 s → 8 shards wanted, capped at 5
    assert len(plan.shards) == 5
    assert max(plan.shard_seconds(i) for i in range(5)) - min(plan.shard_seconds(i) for i in range(5)) <= 10.0
