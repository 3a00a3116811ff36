"""The video-links demo step runs against the local platform and shows what the issue asks for."""

from __future__ import annotations

import time

import av
import pytest

from chalicelib.adapters.resources import Resources
from chalicelib.api import context
from chalicelib.cli import create_principal
from chalicelib.models.camera import Camera, CameraKind
from chalicelib.models.principal import PrincipalKind
from chalicelib.services.cameras import CameraRegistry
from chalicelib.services.footage import FootageCatalog
from chalicelib.settings import get_settings
from chalicelib.video.segmenter import make_synthetic_video
from local import demo_links

pytestmark = pytest.mark.e2e
DEMO_CAMERAS = (("DEMO-CITYHALL-1", 37.56650, 126.97790), ("DEMO-CITYHALL-2", 37.56710, 126.97700),
                ("DEMO-CITYHALL-3", 37.56590, 126.97880))


def test_demo_step_issues_plays_refuses_revokes_and_prints_the_audit(local_platform, tmp_path, capsys):
    # GIVEN the main demo's state in miniature: an agency bound to 127.0.0.2, three recording demo
    # cameras at City Hall and a few catalog cameras around them without footage
    settings = get_settings()
    resources = Resources(settings)
    _, token = create_principal(PrincipalKind.AGENCY, "demo police", principal_id="demo-links-police",
                                cidrs=("127.0.0.2/32",), resources=resources)
    cameras = [Camera(camera_id=cid, kind=CameraKind.CRIME_PREVENTION, district="Jung-gu", lat=lat, lon=lon)
               for cid, lat, lon in DEMO_CAMERAS]
    cameras += [Camera(camera_id=f"SEL-JG-TEST-{i}", kind=CameraKind.TRAFFIC, district="Jung-gu",
                       lat=37.5665 - 0.0003 * (i + 1), lon=126.9780) for i in range(4)]
    CameraRegistry(resources.table("cameras"), resources.store("media"),
                   index_key=settings.camera_index_key).load_catalog(cameras)
    try:
        video = make_synthetic_video(tmp_path / "demo.mp4", 25, 10, (160, 120))
    except (av.FFmpegError, ValueError) as exc:
        pytest.skip(f"PyAV cannot write a synthetic test video: {exc}")
    footage = FootageCatalog.from_settings(resources.store("footage"), resources.table("footage"), settings)
    now_ms = int(time.time() * 1000)
    for i, (cid, _, _) in enumerate(DEMO_CAMERAS):
        footage.ingest(cid, video, start_ms=now_ms - 30 * 60_000 + i * 2_000)
    context.reset_platform()

    # WHEN the demo step runs
    try:
        rows = dict(demo_links.run(local_platform, {"police-112": token}, resources))
    finally:
        context.reset_platform()

    # THEN 5 links, a clip that decodes, refusals from 127.0.0.3, revocation and the audit are shown
    out = capsys.readouterr().out
    assert rows["video links from 127.0.0.2"].startswith("200, 5 recorded links")
    assert "frames decoded" in rows["recorded clip via the edge"] and not rows["recorded clip via the edge"].startswith("0 ")
    assert rows["from 127.0.0.3"] == "API 403, edge 403"
    assert rows["revoked link at the edge"] == "403"
    assert rows["out-of-window segment"] == "403 resource mismatch"
    assert rows["export receipt"].startswith("verified") and rows["export receipt"].endswith("hashes match")
    assert "revoked: video-link request revoked" in out
    assert "issued 2" in rows["video-link audit records"] and "denied 1" in rows["video-link audit records"]
    assert "edge.access" in out and "demo-links-police" in out
