"""The reducer's tracks, ranking and walking-speed route (pure)."""

from __future__ import annotations

from chalicelib.models.search import Box, PlannedCamera, SearchPlan, ShardResult, Sighting
from chalicelib.services.search.reducer import build_route, group_tracks, reduce_results

T0 = 1_800_000_000_000
# Two cameras ~111 m apart (0.001° latitude), a third ~1.1 km away.
CAMS = [PlannedCamera(camera_id="A", lat=37.0, lon=127.0, distance_m=0, reachable_from_ms=T0, footage_seconds=60),
        PlannedCamera(camera_id="B", lat=37.001, lon=127.0, distance_m=111, reachable_from_ms=T0, footage_seconds=60),
        PlannedCamera(camera_id="C", lat=37.01, lon=127.0, distance_m=1110, reachable_from_ms=T0, footage_seconds=60)]


def _s(camera: str, t_s: float, score: float, x: float = 100) -> Sighting:
    return Sighting(camera_id=camera, time_ms=T0 + int(t_s * 1000), box=Box(x1=x, y1=100, x2=x + 30, y2=190),
                    score=score, appearance=score, upper="red", lower="blue")


def test_sightings_close_in_time_and_place_form_one_track():
    # GIVEN a person walking across camera A for 2 s, another person elsewhere in the frame, and A again later
    sightings = [_s("A", 0, 0.9), _s("A", 0.5, 0.8, x=110), _s("A", 1.0, 0.85, x=120),
                 _s("A", 0.5, 0.4, x=600), _s("A", 30, 0.7)]
    tracks = group_tracks(sightings)
    # THEN three tracks: the walk (3 sightings, scored by its best three), the other person, the later pass
    assert [(t.sightings, t.score) for t in tracks] == [(3, 0.85), (1, 0.7), (1, 0.4)]
    assert tracks[0].best.score == 0.9 and tracks[0].end_ms - tracks[0].start_ms == 1000


def test_a_passer_by_in_other_clothes_or_of_another_size_does_not_join_the_track():
    # GIVEN a red/blue person walking right, and within a step of them half a second later a green/black
    # person, and a much taller red/blue figure (someone nearer the camera)
    walker = [_s("A", 0, 0.9), _s("A", 1.0, 0.85, x=120)]
    other = _s("A", 0.5, 0.8, x=110).model_copy(update={"upper": "green", "lower": "black"})
    nearer = _s("A", 0.6, 0.7, x=112).model_copy(update={"box": Box(x1=112, y1=40, x2=170, y2=190)})
    # WHEN grouped
    tracks = group_tracks([*walker, other, nearer])
    # THEN the walker's two sightings are one track and each passer-by is a track of their own
    assert sorted(t.sightings for t in tracks) == [1, 1, 2]
    two = next(t for t in tracks if t.sightings == 2)
    assert (two.start_ms, two.end_ms) == (T0, T0 + 1000) and two.best.upper == "red"


def test_route_keeps_only_moves_possible_at_walking_speed():
    # GIVEN strong tracks on A at t=0, on C (1.1 km away) at t=60 s, and on B (111 m) at t=100 s
    tracks = group_tracks([_s("A", 0, 0.9), _s("C", 60, 0.95), _s("B", 100, 0.8)])
    # WHEN the route is built at 2 m/s
    route = build_route(tracks, CAMS, max_speed_mps=2.0)
    # THEN C cannot be chained with A or B (1.1 km in 60 s), so the best route is A → B, in time order
    assert [stop.camera_id for stop in route] == ["A", "B"]
    assert route[0].arrived_ms < route[1].arrived_ms


def test_route_may_be_a_single_strong_stop():
    tracks = group_tracks([_s("C", 60, 0.95), _s("A", 59, 0.3)])
    assert [s.camera_id for s in build_route(tracks, CAMS, max_speed_mps=1.5)] == ["C"]


def test_reduce_merges_shards_and_sums_footage():
    plan = SearchPlan(search_id="x", cameras=CAMS, shards=[[], []], window_start_ms=T0, window_end_ms=T0 + 600_000,
                      max_speed_mps=2.0)
    results = [ShardResult(search_id="x", index=i, sightings=[_s(cam, t, 0.9)], footage_seconds=60,
                           frames_decoded=600, frames_searched=120, people_detected=10, detector="yolox",
                           embedder="osnet", elapsed_s=1.0) for i, (cam, t) in enumerate((("A", 0), ("B", 100)))]
    reduction = reduce_results(plan, results)
    assert reduction.footage_seconds == 120 and len(reduction.hits) == 2
    assert [s.camera_id for s in reduction.route] == ["A", "B"] and reduction.detector == "yolox"
