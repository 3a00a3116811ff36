"""The control-center console in a real browser (Debian's Chromium driven by Playwright) against
`python -m local serve`: operators, agencies and health centers doing their work, each test saving a
screenshot under tests/artifacts/console/."""

from __future__ import annotations

import base64
import time
from collections.abc import Iterator
from datetime import timedelta, timezone
from http import HTTPStatus
from pathlib import Path
from typing import Any

import pytest
import requests
from client_support import authenticated
from console_support import (
    CHROMIUM,
    Console,
    drop_file,
    iter_pages,
    launch,
    screenshot,
    sign_in,
    video_advances,
    wait_until,
)
from golden_time_api_client.api.alerts import list_alerts, resolve_alert
from golden_time_api_client.api.console import map_cameras
from golden_time_api_client.api.protected import person_positions, register_person
from golden_time_api_client.api.selective_monitor import list_monitor_events, put_camera_rules
from golden_time_api_client.api.sos import report_sos
from golden_time_api_client.api.video_links import request_links, revoke_links
from golden_time_api_client.api.xray import create_study, get_study
from golden_time_api_client.models import (
    AlertResolution,
    AlertStatus,
    CameraRules,
    ListAlertsStatusType0,
    Location,
    PersonKind,
    Position,
    ProtectedPositions,
    ProtectedRegistration,
    SafeZone,
    SosRequest,
    StudyCreate,
    StudyStatus,
    VideoLinkRequest,
)
from monitor_support import MISSING_FOOTAGE, YOLOX, clip_bytes, lawn_rules
from search_support import VIDEO, write_clip
from serve_support import serve

from chalicelib.adapters.resources import Resources
from chalicelib.cli import create_principal
from chalicelib.models.camera import Camera, CameraKind
from chalicelib.models.principal import PrincipalKind
from chalicelib.services.audit import AuditLog
from chalicelib.services.cameras import CameraRegistry
from chalicelib.services.footage import FootageCatalog
from chalicelib.settings import Settings
from local.console_site import DIST
from local.gps_tracks import as_api, offset, walk
from local.seoul_catalog import generate_seoul_cameras
from local.xray_samples import png_bytes, real_images, synthetic_chest

pytestmark = [pytest.mark.e2e,
              pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs chromium (make test installs it)"),
              pytest.mark.skipif(not VIDEO.exists(), reason="needs ../shared/data/video/vtest.avi")]
sync_playwright = pytest.importorskip("playwright.sync_api").sync_playwright
CAMERAS = (("CONSOLE-CAM-1", 37.56650, 126.97790), ("CONSOLE-CAM-2", 37.56710, 126.97700))
CITY_CAMERAS = 20_000  # the benchmark draws 100,000; the map clusters either way


@pytest.fixture(scope="module")
def console(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Console]:
    assert (DIST / "index.html").is_file(), "console not built: run make console"
    state = tmp_path_factory.mktemp("console")
    served = serve(state)
    with pytest.MonkeyPatch.context() as env:
        for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
            env.setenv(name, "local")
        settings = Settings(stage="local", aws_endpoint_url=served.aws_url, aws_region="ap-northeast-2")
        resources = Resources(settings)
        tokens = {}
        for kind, pid, cidrs in ((PrincipalKind.OPERATOR, "op-console", ("127.0.0.1/32",)),
                                 (PrincipalKind.AGENCY, "police-console", ("127.0.0.1/32",)),
                                 (PrincipalKind.HEALTH_CENTER, "hc-console", ()),
                                 (PrincipalKind.APP, "app-console", ())):
            _, tokens[pid] = create_principal(kind, pid, principal_id=pid, cidrs=cidrs, resources=resources)
        registry = CameraRegistry(resources.table("cameras"), resources.store("media"), index_key=settings.camera_index_key)
        registry.load_catalog([*generate_seoul_cameras(count=CITY_CAMERAS, seed=3),
                               *(Camera(camera_id=cid, kind=CameraKind.CRIME_PREVENTION, district="Jung-gu", lat=lat,
                                        lon=lon, stream_name=f"cam-{cid}", recording_prefix=f"footage/{cid}/")
                                 for cid, lat, lon in CAMERAS)])
        # a protected person walks from home to the first camera; the man of vtest.avi then passes both cameras
        home = offset(CAMERAS[0][1:], 350, 250)
        seen = int(time.time() * 1000) - 240_000
        track = walk([home, CAMERAS[0][1:]], start_ms=seen - 390_000, seconds=390)
        clip = write_clip(state / "clip.avi", 180, 150)
        footage = FootageCatalog.from_settings(resources.store("footage"), resources.table("footage"), settings,
                                               preset="ultrafast")
        for i, (cid, _, _) in enumerate(CAMERAS):
            footage.ingest(cid, clip, start_ms=track[-1].t_ms + 2_000 + i * 90_000)
        with sync_playwright() as playwright:
            browser = launch(playwright)
            yield Console(url=served.api_url + "/console/", api_url=served.api_url, resources=resources, tokens=tokens,
                          extra={"browser": browser, "home": home, "track": track})
            browser.close()
    served.stop()


@pytest.fixture
def page(console: Console) -> Iterator[Any]:
    yield from iter_pages(console.extra["browser"])


def _api(console: Console, pid: str) -> Any:
    """The generated client (tests/client_support.py), as ``pid``."""
    return authenticated(console.api_url, console.tokens[pid])


def _sos(console: Console, lat: float, lon: float) -> Any:
    """A citizen's SOS through the app's API; its view."""
    reply = report_sos.sync_detailed(client=_api(console, "app-console"),
                                     body=SosRequest(location=Location(lat=lat, lon=lon)))
    assert reply.status_code == HTTPStatus.CREATED, reply.content
    return reply.parsed


def _alerts(console: Console, **query: Any) -> list[Any]:
    return list(list_alerts.sync(client=_api(console, "op-console"), **query).alerts)


def _queue_item(page: Any, item_id: str) -> Any:
    return page.locator(f"[data-testid=queue-item][data-id='{item_id}']")


def test_the_console_is_korean_with_kst_times_and_english_on_request(console, page):
    # GIVEN an SOS at 12:00:00 UTC is in the queue (a browser whose own clock is UTC)
    sign_in(page, console, console.tokens["op-console"], "operator")
    assert page.locator("html").get_attribute("lang") == "ko"
    alert_id = _sos(console, 37.5665, 126.978).incident_id + ".sos"
    item = _queue_item(page, alert_id)
    item.wait_for(timeout=5000)
    # THEN labels are Korean and the time is in KST (UTC+9), however the browser's own zone is set
    assert page.locator("h1").inner_text() == "골든타임 통합관제"
    assert "SOS 긴급신고" in item.inner_text()
    raised = next(a.raised_at for a in _alerts(console) if a.alert_id == alert_id)
    kst = raised.astimezone(timezone(timedelta(hours=9))).timetuple()
    title = item.locator("[data-testid=queue-time]").get_attribute("title")
    assert title.endswith("KST") and f"{kst.tm_min:02d}:{kst.tm_sec:02d}" in title, title
    hour12 = kst.tm_hour % 12 or 12
    assert f"{'오전' if kst.tm_hour < 12 else '오후'} {hour12}:{kst.tm_min:02d}" in title, title
    screenshot(page, "01-korean-kst")
    # WHEN English is chosen THEN the same screen speaks English
    page.get_by_test_id("lang").select_option("en")
    _queue_item(page, alert_id).wait_for()
    assert page.locator("h1").inner_text() == "Golden Time control center"
    assert "SOS" in _queue_item(page, alert_id).inner_text() and "긴급" not in _queue_item(page, alert_id).inner_text()
    screenshot(page, "02-english")
    page.get_by_test_id("lang").select_option("ko")


def test_an_sos_raised_through_the_api_is_on_the_map_and_in_the_queue_within_2_s_with_an_alarm(console, page):
    sign_in(page, console, console.tokens["op-console"], "operator")
    page.wait_for_function("() => window.__gt && window.__gt.mapDrawnMs !== null", timeout=30_000)
    # WHEN a citizen presses SOS
    started = time.monotonic()
    alert_id = _sos(console, 37.5668, 126.9785).incident_id + ".sos"
    # THEN within 2 s it is in the queue, marked urgent, and drawn on the map
    in_queue = wait_until(lambda: _queue_item(page, alert_id).count() == 1, 5.0)
    queue_s = time.monotonic() - started
    on_map = wait_until(lambda: alert_id in page.evaluate("() => window.__gt.renderedIncidents()"), 5.0)
    map_s = time.monotonic() - started
    screenshot(page, "03-sos-on-map-and-queue")
    assert in_queue and on_map
    assert queue_s < 2.0 and map_s < 2.0, (queue_s, map_s)
    assert "urgent" in (_queue_item(page, alert_id).get_attribute("class") or "")
    # AND an urgent item sounds the alarm
    assert page.evaluate("() => window.__gtAlarms || 0") >= 1


def test_acknowledging_an_alert_updates_the_queue_and_the_record(console, page):
    sign_in(page, console, console.tokens["op-console"], "operator")
    alert_id = _sos(console, 37.5660, 126.9770).incident_id + ".sos"
    _queue_item(page, alert_id).click()
    assert _queue_item(page, alert_id).get_attribute("data-status") == "open"
    # WHEN the operator acknowledges it
    page.get_by_test_id("ack").click()
    # THEN the queue shows it acknowledged, and so does the API, naming the operator
    page.wait_for_selector(f"[data-testid=queue-item][data-id='{alert_id}'][data-status=acknowledged]", timeout=5000)
    acked = next(a for a in _alerts(console) if a.alert_id == alert_id)
    assert acked.status == AlertStatus.ACKNOWLEDGED and acked.acked_by == "op-console"
    page.get_by_test_id("history").get_by_text("확인").wait_for()
    screenshot(page, "04-acknowledged")


def test_resolving_an_alert_with_a_note_takes_it_off_the_queue_keeps_who_and_when_and_audits_it(console, page):
    sign_in(page, console, console.tokens["op-console"], "operator")
    alert_id = _sos(console, 37.5661, 126.9771).incident_id + ".sos"
    _queue_item(page, alert_id).click()
    # WHEN the operator writes a note and resolves the alert
    page.get_by_test_id("note").fill("순찰차 12호 현장 도착, 귀가 확인")
    started_ms = int(time.time() * 1000)
    page.get_by_test_id("resolve").click()
    # THEN it leaves the queue and the map, while the panel shows it resolved with the note in its history
    page.wait_for_selector("[data-testid=detail][data-status=resolved]", timeout=5000)
    assert wait_until(lambda: _queue_item(page, alert_id).count() == 0, 5.0)
    assert wait_until(lambda: alert_id not in page.evaluate("() => window.__gt.renderedIncidents()"), 5.0)
    page.get_by_test_id("history").get_by_text("순찰차 12호 현장 도착").wait_for()
    screenshot(page, "04b-resolved")
    # AND the API keeps who resolved it, when (RFC 3339 with an offset) and the note; the queue listing omits it
    assert alert_id not in [a.alert_id for a in _alerts(console)]
    resolved = next(a for a in _alerts(console, status=ListAlertsStatusType0.RESOLVED) if a.alert_id == alert_id)
    at = resolved.resolved_at
    assert resolved.resolved_by == "op-console" and resolved.resolution_note == "순찰차 12호 현장 도착, 귀가 확인"
    assert at.utcoffset() is not None and started_ms - 1000 <= at.timestamp() * 1000 <= time.time() * 1000
    # AND resolving again answers the same resolution; a citizen's app may not resolve
    again = resolve_alert.sync_detailed(alert_id, client=_api(console, "op-console"),
                                        body=AlertResolution(note="다른 메모"))
    assert again.status_code == HTTPStatus.OK and again.parsed.to_dict() == resolved.to_dict()
    denied = resolve_alert.sync_detailed(alert_id, client=_api(console, "app-console"))
    assert denied.status_code == HTTPStatus.FORBIDDEN and denied.parsed.error.code
    # AND the resolution is audited once, naming the operator
    records = [r for r in AuditLog(console.resources.table("audit")).records(since_ms=started_ms - 1000)
               if r.action == "alert.resolved" and r.subject == alert_id]
    assert [(r.actor, r.details.get("note")) for r in records] == [("op-console", "순찰차 12호 현장 도착, 귀가 확인")]


@pytest.mark.skipif(not YOLOX.is_file(), reason=MISSING_FOOTAGE)
def test_a_selective_monitoring_event_is_drawn_on_the_map_beside_the_alerts_at_its_camera(console, page):
    # GIVEN lawn rules on a camera, set by an admin, and an SOS alert elsewhere in the queue
    _, admin = create_principal(PrincipalKind.ADMIN, "admin-console", principal_id="admin-console",
                                resources=console.resources)
    camera, lat, lon = CAMERAS[1]
    rules = put_camera_rules.sync_detailed(camera, client=authenticated(console.api_url, admin),
                                           body=CameraRules.from_dict(lawn_rules()))
    assert rules.status_code == HTTPStatus.OK, rules.content
    alert_id = _sos(console, 37.5640, 126.9750).incident_id + ".sos"
    sign_in(page, console, console.tokens["op-console"], "operator")
    page.wait_for_function("() => window.__gt && window.__gt.mapDrawnMs !== null", timeout=30_000)
    # WHEN the camera's gateway uploads a clip of people walking onto the lawn (S3 → SQS → monitor worker)
    start_ms = time.time_ns() // 1_000_000 - 60_000
    console.resources.store("media").put(f"monitor/{camera}/{start_ms}-clip.mp4", clip_bytes(490, 560))
    operator = _api(console, "op-console")
    views = wait_until(lambda: list_monitor_events.sync(client=operator, camera_id=camera).events, 120.0, step_s=0.5)
    assert views, "no monitor event"
    event_id = views[0].event.event_id
    # THEN the API places the event at its camera
    assert views[0].location.to_dict() == {"lat": lat, "lon": lon, "accuracy_m": None}
    # AND the map draws it as a monitoring mark, together with the SOS alert, and the queue lists both
    assert wait_until(lambda: event_id in page.evaluate("() => window.__gt.renderedIncidents(true)"), 5.0)
    drawn = page.evaluate("() => window.__gt.renderedIncidents()")
    assert alert_id in drawn and alert_id not in page.evaluate("() => window.__gt.renderedIncidents(true)")
    assert _queue_item(page, event_id).count() == 1 and _queue_item(page, alert_id).count() == 1
    # AND selecting the event centres the map on its camera and names the camera
    _queue_item(page, event_id).click()
    assert wait_until(lambda: "selected" in (_queue_item(page, event_id).get_attribute("class") or "").split(), 5.0)
    # (the map eases there over 300 ms of animation frames; a loaded CI machine may draw them late)
    page.wait_for_function("([lat, lon]) => { const c = window.__gt.center();"
                           " return Math.abs(c.lat - lat) < 1e-4 && Math.abs(c.lon - lon) < 1e-4; }",
                           arg=[lat, lon], timeout=5_000)
    assert camera in page.get_by_test_id("detail").inner_text()
    screenshot(page, "05c-monitor-event-on-map")


def test_an_incident_camera_plays_live_and_recorded_through_the_signed_edge_and_the_issue_is_audited(console, page):
    sign_in(page, console, console.tokens["op-console"], "operator")
    alert_id = _sos(console, 37.5666, 126.9778).incident_id + ".sos"
    # WHEN the operator opens the incident
    _queue_item(page, alert_id).click()
    page.get_by_test_id("camera-video").first.wait_for(timeout=10_000)
    # THEN a nearby camera's live video plays in the page (its current time advances)
    reached = video_advances(page, "[data-testid=camera-video] video", seconds=1.5, timeout_s=30)
    screenshot(page, "05-incident-camera-plays")
    assert reached >= 1.5
    sources = page.evaluate("() => performance.getEntriesByType('resource').map(e => e.name)"
                            ".filter(n => n.includes('/live/') && n.includes('Signature='))")
    assert sources, "the video came from signed live links on the media edge"
    # AND the links were issued to the operator, bound to the control center's range, and audited
    issued = [r for r in AuditLog(console.resources.table("audit")).records(since_ms=int(time.time() * 1000) - 120_000)
              if r.action == "video-link.issued" and r.actor == "op-console"]
    assert issued and issued[-1].details.get("cidr") == "127.0.0.1/32", issued
    # AND the recorded footage of the last 10 minutes plays too
    page.get_by_test_id("play-recorded").click()
    page.wait_for_function("() => [...document.querySelectorAll('[data-testid=camera-video] figcaption')]"
                           ".some((c) => c.textContent.includes('녹화'))", timeout=10_000)
    assert video_advances(page, "[data-testid=camera-video] video", seconds=1.0, timeout_s=30) >= 1.0
    screenshot(page, "05b-incident-recorded-plays")


def test_a_protected_person_alert_starts_a_search_in_one_click_and_draws_the_route(console, page):
    app = _api(console, "app-console")
    home = console.extra["home"]
    created = register_person.sync(client=app, body=ProtectedRegistration(
        name="아버지", kind=PersonKind.DEMENTIA, description="남색 점퍼",
        zones=[SafeZone(name="home", center=Location(lat=home[0], lon=home[1]), radius_m=100)]))
    from local.demo_search import _photo

    photo = base64.b64decode(_photo() or "")
    upload = created.photo_upload
    # the presigned POST goes to S3: not our API
    assert requests.post(upload.url, data=upload.fields.to_dict(), files={"file": ("p.jpg", photo)}, timeout=10).ok
    fixes = [Position.from_dict(fix) for fix in as_api(console.extra["track"])]
    alerts = person_positions.sync(created.person.person_id, client=app, body=ProtectedPositions(positions=fixes)).alerts
    alert_id = alerts[0].alert_id
    sign_in(page, console, console.tokens["op-console"], "operator")
    _queue_item(page, alert_id).click()
    # WHEN the operator clicks once
    page.get_by_test_id("start-search").click()
    # THEN a progress bar runs, then sightings appear on a timeline and the route is drawn on the map
    page.get_by_test_id("search-progress").wait_for()
    page.wait_for_selector("[data-testid=search][data-status=done]", timeout=120_000)
    page.get_by_test_id("sighting").first.wait_for()
    stops = int(page.get_by_test_id("search").get_attribute("data-route-stops") or 0)
    drawn = wait_until(lambda: page.evaluate("() => window.__gt.renderedRouteStops()") >= 1, 5.0)
    screenshot(page, "06-search-route")
    assert stops >= 1 and drawn
    assert {"CONSOLE-CAM-1"} <= {t.split("\n")[0] for t in page.get_by_test_id("sighting").all_inner_texts()}
    # AND a sighting plays from its recorded footage
    page.get_by_test_id("sighting").first.click()
    page.get_by_test_id("sighting-video").wait_for(timeout=10_000)
    assert video_advances(page, "[data-testid=sighting-video] video", seconds=1.0, timeout_s=30) >= 1.0
    screenshot(page, "06b-sighting-plays")


def _chest_png() -> tuple[str, bytes]:
    pngs = [p for p in real_images() if p.suffix.lower() == ".png"]
    return (pngs[0].name, pngs[0].read_bytes()) if pngs else ("chest.png", png_bytes(synthetic_chest(512)))


def test_a_health_center_drops_a_study_and_sees_the_heatmap_overlay_and_the_non_clinical_banner(console, page):
    sign_in(page, console, console.tokens["hc-console"], "health")
    name, data = _chest_png()
    # WHEN the center drags an X-ray onto the page
    drop_file(page, "[data-testid=dropzone]", name, data, "image/png")
    # THEN the study is read and shown with its heat map over the image, the scale, and the NON-CLINICAL banner
    page.wait_for_selector("[data-testid=study][data-status=done]", timeout=90_000)
    page.get_by_test_id("heatmap").wait_for()
    page.wait_for_function("() => document.querySelector('[data-testid=heatmap]').naturalWidth > 0")
    banner = page.get_by_test_id("non-clinical")
    assert "비임상" in banner.inner_text() and "NON-CLINICAL" in banner.inner_text()
    assert "gt-reference-cxr" in page.get_by_test_id("model").inner_text()
    assert page.get_by_test_id("findings").locator("tr").count() >= 2
    page.get_by_test_id("opacity").fill("30")
    assert page.get_by_test_id("heatmap").evaluate("(img) => img.style.opacity") == "0.3"
    assert page.locator("[data-testid=study-row] .status.done").count() >= 1
    screenshot(page, "07-health-heatmap")


def test_a_health_center_lists_its_studies_from_the_api_pages_them_filters_by_state_and_opens_one(console, page):
    # GIVEN a center whose studies were made elsewhere (its PACS, another browser): one read, then 50 pending
    _, token = create_principal(PrincipalKind.HEALTH_CENTER, "hc-listing", principal_id="hc-listing",
                                resources=console.resources)
    center = authenticated(console.api_url, token)
    created = create_study.sync(client=center, body=StudyCreate(filename="chest.png"))
    name, data = _chest_png()
    upload = created.upload
    # the presigned POST goes to S3: not our API
    assert requests.post(upload.url, data=upload.fields.to_dict(), files={"file": (name, data)}, timeout=10).ok
    read_id = created.study_id
    assert wait_until(lambda: get_study.sync(read_id, client=center).status == StudyStatus.DONE, 90.0)
    pending = [create_study.sync(client=center, body=StudyCreate()).study_id for _ in range(50)]
    # WHEN the center signs in on a browser that never saw them
    sign_in(page, console, token, "health")
    # THEN the first page lists the 50 newest (pending) studies, and "more" brings the read one with its triage
    page.wait_for_function("() => document.querySelectorAll('[data-testid=study-row]').length === 50", timeout=10_000)
    rows = page.get_by_test_id("study-row")
    assert [rows.nth(i).get_attribute("data-id") for i in range(50)] == pending[::-1]
    assert "판독 대기" in rows.first.inner_text()
    page.get_by_test_id("more-studies").click()
    read_row = page.locator(f"[data-testid=study-row][data-id='{read_id}']")
    read_row.wait_for(timeout=5000)
    assert read_row.get_attribute("data-status") == "done" and "판독 완료" in read_row.inner_text()
    assert page.get_by_test_id("more-studies").is_hidden()
    screenshot(page, "07b-study-list")
    # AND filtering by state asks the API for that state only
    page.get_by_test_id("study-filter").select_option("done")
    page.wait_for_function("() => document.querySelectorAll('[data-testid=study-row]').length === 1", timeout=5000)
    assert rows.first.get_attribute("data-id") == read_id
    # AND a row opens the study with its reading
    rows.first.click()
    page.wait_for_selector("[data-testid=study][data-status=done]", timeout=5000)
    assert page.get_by_test_id("findings").locator("tr").count() >= 2


def test_an_agency_link_page_plays_side_by_side_then_shows_revoked_after_delete(console, page):
    police = _api(console, "police-console")
    grant = request_links.sync_detailed(client=police, body=VideoLinkRequest.from_dict({
        "incident_number": "2026-SEOUL-0042", "location": {"lat": CAMERAS[0][1], "lon": CAMERAS[0][2]},
        "mode": "live", "purpose": "CRIME-INVESTIGATION", "officer_id": "officer-7", "camera_count": 2}))
    assert grant.status_code == HTTPStatus.OK, grant.content
    assert len(grant.parsed.links) == 2
    sign_in(page, console, console.tokens["police-console"], "agency")
    # WHEN the officer opens the bundle (the JSON answer of POST /v1/video-links)
    page.get_by_test_id("bundle").fill(grant.content.decode())
    page.get_by_test_id("open-bundle").click()
    assert page.get_by_test_id("camera-video").count() == 2 or page.get_by_test_id("camera-video").nth(1).wait_for() is None
    reached = video_advances(page, "[data-testid=camera-video] video", seconds=1.0, timeout_s=30)
    countdown = page.get_by_test_id("countdown").inner_text()
    screenshot(page, "08-agency-playing")
    assert reached >= 1.0 and ":" in countdown
    # WHEN the link request is revoked THEN the page says so within 2 s
    started = time.monotonic()
    assert revoke_links.sync_detailed(grant.parsed.request_id, client=police).status_code == HTTPStatus.OK
    page.wait_for_selector("[data-testid=bundle-view][data-state=revoked]", timeout=5000)
    assert time.monotonic() - started < 2.0
    assert page.get_by_test_id("link-state").inner_text() == "회수됨"
    screenshot(page, "09-agency-revoked")


def test_the_map_draws_the_districts_and_clusters_the_city_cameras_then_single_cameras_up_close(console, page):
    sign_in(page, console, console.tokens["op-console"], "operator")
    page.wait_for_function("() => window.__gt && window.__gt.mapDrawnMs !== null", timeout=30_000)
    # THEN at city scale the 25 districts are drawn and the cameras come as clusters
    assert len(page.evaluate("() => window.__gt.renderedDistricts()")) == 25
    city = page.evaluate("() => window.__gt.renderedCameras()")
    reply = map_cameras.sync(client=_api(console, "op-console"))
    assert reply.clustered and reply.total == CITY_CAMERAS + len(CAMERAS)
    assert sum(f.properties.point_count for f in reply.features) == reply.total
    screenshot(page, "10-city-map")
    assert city["clusters"] > 50, city
    # WHEN the operator zooms in on City Hall THEN single cameras are drawn
    page.evaluate("() => document.querySelector('[data-testid=map]')")
    for _ in range(5):
        page.get_by_role("button", name="Zoom in").click()
        page.wait_for_timeout(400)
    close = wait_until(lambda: page.evaluate("() => window.__gt.renderedCameras()")["singles"] > 0, 10.0)
    screenshot(page, "11-map-zoomed")
    assert close
