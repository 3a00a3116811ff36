"""Safe zones of protected persons: circles, polygons, hours (KST), accuracy, noisy shuffled tracks."""

from __future__ import annotations

from datetime import datetime

import pytest

from chalicelib.models.common import Location
from chalicelib.models.protected import SafeZone, ZoneHours
from chalicelib.models.trip import PositionFix
from chalicelib.services.saferet.protected import KST, ZoneRules, inside_zone, zone_active, zone_exit
from local.gps_tracks import as_uploaded, offset, stand, walk

RULES = ZoneRules()
HOME = (37.57300, 126.98500)  # a flat in Jongno
SCHOOL = (37.57800, 126.98200)
HOME_ZONE = SafeZone(name="home", center=Location(lat=HOME[0], lon=HOME[1]), radius_m=150)
# the school block: a ~200 m × 160 m rectangle
SCHOOL_BLOCK = [offset(SCHOOL, -80, -100), offset(SCHOOL, -80, 100), offset(SCHOOL, 80, 100), offset(SCHOOL, 80, -100)]
SCHOOL_ZONE = SafeZone(name="school", polygon=[Location(lat=lat, lon=lon) for lat, lon in SCHOOL_BLOCK],
                       hours=[ZoneHours(start="08:30", end="15:00", days=[0, 1, 2, 3, 4])])


def kst_ms(year: int, month: int, day: int, hour: int, minute: int) -> int:
    return int(datetime(year, month, day, hour, minute, tzinfo=KST).timestamp() * 1000)


TUESDAY_10 = kst_ms(2025, 11, 18, 10, 0)


def test_a_person_pottering_around_home_with_gps_noise_never_exits():
    # GIVEN 20 minutes within ~100 m of home (a walk there and back) with 8 m noise, shuffled
    track = walk([HOME, offset(HOME, 90, 40), HOME], start_ms=TUESDAY_10, seconds=1200, speed_mps=0.3, noise_m=8)
    assert zone_exit(as_uploaded(track), [HOME_ZONE], RULES) is None


def test_wandering_off_fires_with_the_time_they_left():
    # GIVEN someone who stays home 5 minutes and then walks 600 m away
    stay = stand(HOME, start_ms=TUESDAY_10, seconds=300)
    away = walk([HOME, offset(HOME, 0, 600)], start_ms=TUESDAY_10 + 305_000, seconds=480)
    fixes = as_uploaded(stay + away)
    # WHEN judged
    found = zone_exit(fixes, [HOME_ZONE], RULES)
    # THEN an exit, at the latest fix, that began about when they passed radius + accuracy
    assert found is not None
    assert found.zones == ("home",)
    assert found.fix.t_ms == away[-1].t_ms
    left_after_s = (found.since_ms - away[0].t_ms) / 1000
    assert 150 / 1.2 < left_after_s < (150 + 60) / 1.2
    # AND not while only two fixes are outside
    first_out = next(i for i, f in enumerate(away) if f.t_ms >= found.since_ms)
    assert zone_exit(stay + away[:first_out + 2], [HOME_ZONE], RULES) is None


def test_accuracy_gives_the_benefit_of_the_doubt():
    point = offset(HOME, 0, 200)  # 200 m from home, 50 m beyond the zone
    assert inside_zone(PositionFix(t_ms=0, lat=point[0], lon=point[1], accuracy_m=60), HOME_ZONE)
    assert not inside_zone(PositionFix(t_ms=0, lat=point[0], lon=point[1], accuracy_m=10), HOME_ZONE)


def test_polygon_inside_edge_and_outside():
    def fix(north, east, accuracy=5.0):
        lat, lon = offset(SCHOOL, north, east)
        return PositionFix(t_ms=TUESDAY_10, lat=lat, lon=lon, accuracy_m=accuracy)

    assert inside_zone(fix(0, 0), SCHOOL_ZONE)
    assert inside_zone(fix(70, 90), SCHOOL_ZONE)
    assert not inside_zone(fix(0, 130), SCHOOL_ZONE)
    assert inside_zone(fix(0, 130, accuracy=40), SCHOOL_ZONE)  # 30 m beyond the edge, ±40 m


@pytest.mark.parametrize(("moment", "active"), [
    ((2025, 11, 18, 10, 0), True),  # Tuesday 10:00 KST
    ((2025, 11, 18, 8, 29), False),
    ((2025, 11, 18, 15, 0), False),  # the end is exclusive
    ((2025, 11, 22, 10, 0), False),  # Saturday
])
def test_school_hours_are_korean_time_on_weekdays(moment, active):
    assert zone_active(SCHOOL_ZONE, kst_ms(*moment)) is active


def test_overnight_hours_wrap_past_midnight():
    night = SafeZone(name="home at night", center=Location(lat=HOME[0], lon=HOME[1]), radius_m=100,
                     hours=[ZoneHours(start="21:00", end="07:00", days=[4])])  # Friday night
    assert zone_active(night, kst_ms(2025, 11, 21, 23, 0))  # Friday 23:00
    assert zone_active(night, kst_ms(2025, 11, 22, 6, 59))  # Saturday early morning
    assert not zone_active(night, kst_ms(2025, 11, 22, 7, 0))
    assert not zone_active(night, kst_ms(2025, 11, 20, 23, 0))  # Thursday


def test_outside_every_zone_only_counts_while_some_zone_applies():
    # GIVEN a child whose only zone is the school block during school hours, at the park 600 m away
    park = offset(SCHOOL, 0, 600)
    during = stand(park, start_ms=TUESDAY_10, seconds=60, seed=1)
    after = stand(park, start_ms=kst_ms(2025, 11, 18, 16, 0), seconds=60, seed=2)
    # THEN during school hours that is an exit; after school it is not
    assert zone_exit(during, [SCHOOL_ZONE], RULES) is not None
    assert zone_exit(after, [SCHOOL_ZONE], RULES) is None
    # AND with a home zone as well, being at home after school is fine, at the park is not
    both = [SCHOOL_ZONE, HOME_ZONE.model_copy(update={"hours": [ZoneHours(start="15:00", end="08:30")]})]
    assert zone_exit(after, both, RULES) is not None
    assert zone_exit(stand(HOME, start_ms=kst_ms(2025, 11, 18, 16, 0), seconds=60), both, RULES) is None


@pytest.mark.parametrize("body", [
    {"name": "x"},
    {"name": "x", "center": {"lat": 37.5, "lon": 127.0}},
    {"name": "x", "center": {"lat": 37.5, "lon": 127.0}, "radius_m": 100,
     "polygon": [{"lat": 37.5, "lon": 127}, {"lat": 37.6, "lon": 127}, {"lat": 37.6, "lon": 127.1}]},
    {"name": "x", "polygon": [{"lat": 37.5, "lon": 127}, {"lat": 37.6, "lon": 127}]},
    {"name": "x", "polygon": [[37.5, 127], [37.6, 127], [37.6, 127.1]]},  # corners are location objects
    {"name": "x", "center": {"lat": 37.5, "lon": 127.0}, "radius_m": 100, "hours": [{"start": "25:00", "end": "07:00"}]},
    {"name": "x", "center": {"lat": 37.5, "lon": 127.0}, "radius_m": 100, "hours": [{"start": "07:00", "end": "07:00"}]},
])
def test_malformed_zones_are_refused(body):
    with pytest.raises(ValueError):
        SafeZone.model_validate(body)
