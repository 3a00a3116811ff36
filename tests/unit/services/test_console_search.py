"""One click from a protected-person alert: its search seed becomes a search request."""

from __future__ import annotations

import base64

import pytest

from chalicelib.errors import ApiError
from chalicelib.models.alert import Alert, AlertKind
from chalicelib.models.protected import PersonKind, SearchSeed
from chalicelib.models.trip import PositionFix
from chalicelib.services.console_search import search_from_alert

PHOTO = b"\xff\xd8\xff\xe0 a jpeg"


def _alert(seed: SearchSeed | None) -> Alert:
    return Alert(alert_id="prot-1.exit.1", kind=AlertKind.ZONE_EXIT, subject_owner_id="app-1", reason="left home",
                 raised_ms=1_700_000_000_000, search=seed)


def test_the_alert_s_photo_place_and_time_make_the_search(aws):
    media = aws.store("media")
    media.put("protected/app-1/prot-1/photo.jpg", PHOTO, content_type="image/jpeg")
    fix = PositionFix(t_ms=1_700_000_000_000, lat=37.5665, lon=126.978, accuracy_m=10)
    seed = SearchSeed(person_id="prot-1", name="Father", kind=PersonKind("dementia"),
                      photo_key="protected/app-1/prot-1/photo.jpg", last_seen=fix)
    request = search_from_alert(_alert(seed), media, window_minutes=30)
    assert [base64.b64decode(p) for p in request.photos] == [PHOTO]
    assert (request.last_seen.lat, request.last_seen.lon, request.last_seen.time_ms) == (37.5665, 126.978, fix.t_ms)
    assert request.window_minutes == 30


def test_an_alert_without_a_seed_is_a_409(aws):
    with pytest.raises(ApiError) as caught:
        search_from_alert(_alert(None), aws.store("media"))
    assert caught.value.status == 409 and caught.value.code == "no_search_seed"
