"""Protected persons over moto: registration with a photo upload, zone exits, one alert per exit."""

from __future__ import annotations

from datetime import datetime

import pytest

from chalicelib.errors import NotFound
from chalicelib.models.alert import AlertKind
from chalicelib.models.protected import ProtectedRegistration
from chalicelib.models.trip import PositionBatch
from chalicelib.services.saferet.protected import KST
from chalicelib.wiring.saferet import build_safe_return
from local.gps_tracks import as_uploaded, offset, stand, walk

HOME = (37.57300, 126.98500)
GUARDIAN = "app-guardian"
T0 = int(datetime(2025, 11, 18, 10, 0, tzinfo=KST).timestamp() * 1000)


@pytest.fixture
def people(aws):
    services = build_safe_return(aws)
    created = services.protected.register(GUARDIAN, "pp-00000000000000f1", ProtectedRegistration.model_validate({
        "name": "Grandpa Kim", "kind": "dementia", "description": "grey coat, walks with a cane",
        "zones": [{"name": "home", "center": {"lat": HOME[0], "lon": HOME[1]}, "radius_m": 150}]}), T0)
    return services, created


def upload(services, person_id, fixes, now_ms):
    return services.protected.add_positions(GUARDIAN, person_id, PositionBatch(positions=fixes), now_ms)


def test_registration_returns_a_size_capped_photo_upload(people):
    _, created = people
    assert created.person.photo_key == "protected/pp-00000000000000f1/photo.jpg"
    assert created.photo_upload.fields["key"] == created.person.photo_key
    assert created.photo_upload.fields["Content-Type"] == "image/jpeg"
    assert created.photo_upload.max_bytes == 5_000_000


def test_each_exit_raises_one_alert_that_carries_the_search_seed(people):
    services, created = people
    pid = created.person.person_id
    # GIVEN grandpa at home, then wandering 700 m away, uploaded in shuffled batches
    home = stand(HOME, start_ms=T0, seconds=120)
    away = walk([HOME, offset(HOME, 700, 0)], start_ms=T0 + 125_000, seconds=600)
    track = home + away
    raised = []
    for i in range(0, len(track), 15):
        raised += upload(services, pid, as_uploaded(track[i:i + 15], seed=i), track[min(i + 14, len(track) - 1)].t_ms)
    # THEN exactly one zone-exit alert with cameras (none loaded here) and what a search needs
    assert [a.kind for a in raised] == [AlertKind.ZONE_EXIT]
    alert = raised[0]
    assert alert.search is not None
    assert alert.search.photo_key == created.person.photo_key
    assert alert.search.description == "grey coat, walks with a cane"
    assert alert.search.last_seen.t_ms <= track[-1].t_ms
    assert "left home" in alert.reason
    person = services.protected.get(pid, GUARDIAN)
    assert person.outside_since_ms is not None
    # WHEN he is brought home and wanders off again later
    back = stand(HOME, start_ms=T0 + 3_600_000, seconds=60)
    assert upload(services, pid, back, back[-1].t_ms) == []
    assert services.protected.get(pid, GUARDIAN).outside_since_ms is None
    again = walk([HOME, offset(HOME, 0, -700)], start_ms=T0 + 3_700_000, seconds=600)
    second = upload(services, pid, again, again[-1].t_ms)
    # THEN a second, separate alert
    assert len(second) == 1
    assert second[0].alert_id != alert.alert_id
    assert services.protected.get(pid, GUARDIAN).alerts == [alert.alert_id, second[0].alert_id]


def test_another_owner_gets_404(people):
    services, created = people
    with pytest.raises(NotFound):
        services.protected.get(created.person.person_id, "app-stranger")
    with pytest.raises(NotFound):
        services.protected.add_positions("app-stranger", created.person.person_id,
                                         PositionBatch(positions=stand(HOME, start_ms=T0, seconds=5)), T0)
