"""The trip detection rules on realistic phone tracks: noise, accuracy, shuffled and repeated fixes."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.models.alert import AlertKind
from chalicelib.models.common import GeoPoint, Location
from chalicelib.models.trip import Movement, PositionFix
from chalicelib.services.saferet.trips import (
    DetectionRules,
    expected_arrival_ms,
    off_route,
    ordered,
    overdue,
    path_length_m,
    silent,
    stationary,
    surely_moving,
    track_movement,
)
from local.gps_tracks import CITY_HALL, GWANGHWAMUN, HOME_ROUTE, along, as_uploaded, offset, stand, walk

RULES = DetectionRules()
T0 = 1_763_800_000_000
HOME = Location(lat=GWANGHWAMUN[0], lon=GWANGHWAMUN[1])
MIN = 60_000


def detour_path() -> list[tuple[float, float]]:
    """Follows the route for 400 m, then turns east into the side streets for 400 m."""
    turn = along(HOME_ROUTE, 400)
    return [CITY_HALL, HOME_ROUTE[1], turn, offset(turn, 0, 400)]


# ---------------------------------------------------------------- ordering

def test_fixes_are_ordered_by_time_and_duplicates_collapse_to_the_most_accurate():
    # GIVEN a track delivered shuffled, with some fixes twice and one repeat more accurate
    track = walk(HOME_ROUTE, start_ms=T0, seconds=120)
    better = PositionFix(t_ms=track[3].t_ms, lat=track[3].lat, lon=track[3].lon, accuracy_m=3.0)
    # WHEN it is ordered
    result = ordered([*as_uploaded(track), better])
    # THEN one fix per timestamp in time order, keeping the best accuracy
    assert [f.t_ms for f in result] == [f.t_ms for f in track]
    assert result[3].accuracy_m == 3.0


# ---------------------------------------------------------------- off-route

def test_walking_the_route_with_gps_noise_is_not_off_route():
    # GIVEN 12 minutes on the planned route with 6 m noise (and 15 m noise), uploaded out of order
    for noise in (6.0, 15.0):
        track = as_uploaded(walk(HOME_ROUTE, start_ms=T0, seconds=720, noise_m=noise))
        # THEN no prefix of the walk is ever judged off-route
        fixes = ordered(track)
        for n in range(3, len(fixes) + 1, 5):
            assert off_route(fixes[:n], HOME_ROUTE, RULES.corridor_m, RULES) is None


def test_leaving_the_route_fires_once_three_fixes_are_clearly_outside():
    # GIVEN a walker who turns off the route after 400 m
    track = walk(detour_path(), start_ms=T0, seconds=720)
    fixes = ordered(as_uploaded(track))
    # WHEN the rule is evaluated as the fixes come in
    first = next(n for n in range(3, len(fixes) + 1) if off_route(fixes[:n], HOME_ROUTE, RULES.corridor_m, RULES))
    finding = off_route(fixes[:first], HOME_ROUTE, RULES.corridor_m, RULES)
    # THEN it fires, with the last fix, once the walker is beyond corridor + accuracy (not at the turn)
    assert finding is not None
    assert finding.kind is AlertKind.OFF_ROUTE
    assert finding.fix == fixes[first - 1]
    walked_m = (finding.fix.t_ms - T0) / 1000 * 1.2
    assert 400 + RULES.corridor_m < walked_m < 400 + 150
    assert "from the route" in finding.reason


def test_a_single_wild_fix_does_not_fire():
    # GIVEN an on-route walk with one 300 m outlier (multipath in a street canyon)
    fixes = ordered(walk(HOME_ROUTE, start_ms=T0, seconds=300))
    wild = fixes[-1].model_copy(update={"lon": offset((fixes[-1].lat, fixes[-1].lon), 0, 300)[1]})
    # THEN one outlier is not a deviation
    assert off_route([*fixes[:-1], wild], HOME_ROUTE, RULES.corridor_m, RULES) is None


def test_off_route_gives_inaccurate_fixes_the_benefit_of_the_doubt():
    # GIVEN three fixes 120 m off the route
    base = ordered(walk(HOME_ROUTE, start_ms=T0, seconds=60, noise_m=0))
    far = [f.model_copy(update={"lon": offset((f.lat, f.lon), 0, 120)[1]}) for f in base[-3:]]
    # WHEN they claim 10 m accuracy THEN off route; with 80 m accuracy THEN maybe on it: no alert
    assert off_route([f.model_copy(update={"accuracy_m": 10.0}) for f in far], HOME_ROUTE, 50, RULES) is not None
    assert off_route([f.model_copy(update={"accuracy_m": 80.0}) for f in far], HOME_ROUTE, 50, RULES) is None
    # AND fixes worse than the usable limit are ignored altogether
    assert off_route([f.model_copy(update={"accuracy_m": 500.0}) for f in far], HOME_ROUTE, 50, RULES) is None


# ---------------------------------------------------------------- stationary

def test_standing_still_for_ten_minutes_away_from_home_fires():
    # GIVEN a walk of 3 minutes, then 11 minutes standing in one spot with GPS jitter
    walked = walk(HOME_ROUTE, start_ms=T0, seconds=180)
    spot = along(HOME_ROUTE, 180 * 1.2)
    stood = stand(spot, start_ms=T0 + 185_000, seconds=660, seed=3)
    fixes = as_uploaded(walked + stood)
    # WHEN judged THEN stationary, reported at the latest fix
    finding = stationary(fixes, HOME, RULES)
    assert finding is not None
    assert finding.kind is AlertKind.STATIONARY
    assert finding.fix is not None
    assert finding.fix.t_ms == stood[-1].t_ms
    # AND not before the ten minutes are covered
    assert stationary(walked + stood[:100], HOME, RULES) is None


def test_walking_slowly_or_waiting_at_home_is_not_stationary():
    # GIVEN a slow 15-minute walk (0.5 m/s), and 15 minutes standing at the destination
    slow = walk(HOME_ROUTE, start_ms=T0, seconds=900, speed_mps=0.5)
    at_home = stand(GWANGHWAMUN, start_ms=T0, seconds=900)
    # THEN neither is an alarm
    assert stationary(slow, HOME, RULES) is None
    assert stationary(at_home, HOME, RULES) is None


# ---------------------------------------------------------------- movement witness (the watchdog's shortcut)

def carried(fixes: list[PositionFix], batch: int = 12) -> Movement:
    """The witness as the service keeps it: batch after batch, each as a flaky phone uploads it."""
    movement = Movement()
    for i in range(0, len(fixes), batch):
        movement = track_movement(movement, as_uploaded(fixes[i:i + batch], seed=i), RULES)
    return movement


def test_a_walker_is_surely_moving_within_the_stationary_window():
    track = walk(HOME_ROUTE, start_ms=T0, seconds=8 * 60)
    movement = carried(track)
    assert surely_moving(movement, track[-1], RULES)
    assert movement.moved_ms is not None and track[-1].t_ms - movement.moved_ms < 4 * MIN  # a witness every ~70 s


def test_somebody_standing_or_stopped_ten_minutes_ago_is_not_surely_moving():
    standing = stand(along(HOME_ROUTE, 300), start_ms=T0, seconds=20 * 60, noise_m=15.0)
    assert carried(standing).moved_ms is None
    assert not surely_moving(carried(standing), standing[-1], RULES)
    # walked 3 minutes, then stood 11: the witness is older than the window, so the fixes must be read
    spot = along(HOME_ROUTE, 180 * 1.2)
    track = walk(HOME_ROUTE, start_ms=T0, seconds=180) + stand(spot, start_ms=T0 + 185_000, seconds=660)
    assert not surely_moving(carried(track), track[-1], RULES)
    assert stationary(track, HOME, RULES) is not None


def test_inaccurate_fixes_prove_no_movement():
    far = [PositionFix(t_ms=T0 + i * 5_000, lat=lat, lon=lon, accuracy_m=RULES.max_accuracy_m + 1)
           for i, (lat, lon) in enumerate(along(HOME_ROUTE, d) for d in range(0, 1000, 100))]
    assert carried(far) == Movement()


segments = st.lists(st.tuples(st.integers(30, 400), st.sampled_from([0.0, 0.05, 0.3, 1.2, 3.0])),
                    min_size=1, max_size=5)


@settings(max_examples=60, deadline=None)
@given(segments, st.integers(0, 10_000), st.floats(2.0, 60.0), st.sampled_from([2.0, 5.0, 20.0]))
def test_when_surely_moving_the_stationary_rule_cannot_fire(parts, seed, noise_m, every_s):
    # GIVEN any mix of walking, drifting and standing, with noisy fixes of varied accuracy
    track: list[PositionFix] = []
    start, walked = T0, 0.0
    for seconds, speed in parts:
        path = [along(HOME_ROUTE, walked), along(HOME_ROUTE, walked + seconds * speed + 0.1)]
        track += walk(path, start_ms=start, seconds=seconds, every_s=every_s, speed_mps=speed, noise_m=noise_m,
                      accuracy_m=(3.0, 150.0), seed=seed + start)
        start, walked = track[-1].t_ms + int(every_s * 1000), walked + seconds * speed
    # WHEN the witness says the trip surely moved inside the window THEN stationary, on every fix, agrees
    movement = carried(track, batch=7)
    if surely_moving(movement, track[-1], RULES):
        assert stationary(track, GeoPoint(lat=0.0, lon=0.0), RULES) is None


# ---------------------------------------------------------------- silent / overdue

@pytest.mark.parametrize(("quiet_min", "fires"), [(4, False), (5, False), (6, True), (30, True)])
def test_silent_after_five_minutes_without_a_batch(quiet_min, fires):
    last = PositionFix(t_ms=T0, lat=CITY_HALL[0], lon=CITY_HALL[1])
    finding = silent(T0, T0 + quiet_min * MIN, last, RULES)
    assert (finding is not None) is fires
    if finding:
        assert finding.kind is AlertKind.SILENT
        assert finding.fix == last


@pytest.mark.parametrize(("late_min", "fires"), [(-5, False), (9, False), (11, True)])
def test_overdue_after_the_grace_period(late_min, fires):
    finding = overdue(T0, T0 + late_min * MIN, None, RULES)
    assert (finding is not None) is fires
    if finding:
        assert finding.kind is AlertKind.OVERDUE


def test_expected_arrival_comes_from_walking_speed():
    # GIVEN the ~1.05 km route from City Hall to Gwanghwamun
    length = path_length_m(HOME_ROUTE)
    assert 1000 < length < 1150
    # THEN at 1.2 m/s that is ~15 minutes
    eta = expected_arrival_ms(T0, length, RULES)
    assert eta - T0 == pytest.approx(length / 1.2 * 1000, abs=1000)
