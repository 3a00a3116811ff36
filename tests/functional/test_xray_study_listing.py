"""GET /v1/xray/studies through the real app under moto: own studies only, newest first, status and time
filters, and pages that together list every study exactly once (studies sharing a millisecond too)."""

from __future__ import annotations

import pytest
from xray_api_support import call

from chalicelib.api import context
from chalicelib.cli import create_principal
from chalicelib.models.principal import PrincipalKind
from chalicelib.models.xray import Reason, StudyCreate
from chalicelib.services.xray.studies import XrayStudies


@pytest.fixture
def centers(aws):
    context.reset_platform()
    _, mapo = create_principal(PrincipalKind.HEALTH_CENTER, "Mapo", principal_id="hc-mapo", resources=aws)
    _, jongno = create_principal(PrincipalKind.HEALTH_CENTER, "Jongno", principal_id="hc-jongno", resources=aws)
    yield {"hc-mapo": mapo, "hc-jongno": jongno}
    context.reset_platform()


def _create(aws, center: str, created_ms: int) -> str:
    return XrayStudies(aws.table("records"), aws.store("xray")).create(
        center, StudyCreate(filename="chest.dcm"), now_ms=created_ms).study_id


def _pages(token: str, **query: str) -> list[list[str]]:
    pages, cursor = [], None
    while True:
        params = {**query, **({"cursor": cursor} if cursor else {})}
        status, _, body = call("GET", "/v1/xray/studies", token, query=params)
        assert status == 200, body
        pages.append([s["study_id"] for s in body["studies"]])
        cursor = body.get("next_cursor")
        if cursor is None:
            return pages


def test_a_center_pages_through_its_own_studies_newest_first_each_once(aws, centers):
    # GIVEN 13 studies of Mapo (five of them in one millisecond) and 4 of Jongno, interleaved in time
    created = [(1_000 + (n if n < 8 else 8), _create(aws, "hc-mapo", 1_000 + (n if n < 8 else 8))) for n in range(13)]
    others = {_create(aws, "hc-jongno", 1_000 + n) for n in range(4)}
    # WHEN Mapo lists them three at a time
    pages = _pages(centers["hc-mapo"], limit="3")
    listed = [study for page in pages for study in page]
    # THEN every one of its studies is listed exactly once, none of Jongno's, newest first, in pages of three
    assert sorted(listed) == sorted(study for _, study in created)
    assert not others & set(listed)
    times = {study: ms for ms, study in created}
    assert [times[s] for s in listed] == sorted((times[s] for s in listed), reverse=True)
    assert [len(p) for p in pages] == [3, 3, 3, 3, 1]


def test_status_and_since_filter_and_a_forged_cursor_is_a_400(aws, centers):
    studies = XrayStudies(aws.table("records"), aws.store("xray"))
    old, new, rejected = (_create(aws, "hc-mapo", ms) for ms in (1_000, 5_000, 6_000))
    studies.reject(studies.get(rejected), Reason(code="not_an_image", message="no"), None, now_ms=6_500)
    token = centers["hc-mapo"]
    status, _, body = call("GET", "/v1/xray/studies", token, query={"status": "rejected"})
    assert status == 200
    assert [(s["study_id"], s["status"], s["reason_code"]) for s in body["studies"]] == [
        (rejected, "rejected", "not_an_image")]
    assert _pages(token, since="1970-01-01T00:00:05Z") == [[rejected, new]]  # RFC 3339, any offset
    assert _pages(token, since="1970-01-01T09:00:05.001+09:00") == [[rejected]]
    assert old in _pages(token)[0]
    for bad in ({"cursor": "not-ours"}, {"status": "lost"}, {"limit": "0"}, {"since": "5000"}):
        status, _, body = call("GET", "/v1/xray/studies", token, query=bad)
        assert status in (400, 422) and body["error"]["message"], bad


def test_only_health_centers_list_studies(aws, centers):
    _, operator = create_principal(PrincipalKind.OPERATOR, "Op", principal_id="operator-1", resources=aws)
    status, _, body = call("GET", "/v1/xray/studies", operator)
    assert status == 403 and body["error"]["code"] == "forbidden"
