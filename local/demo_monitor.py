"""Demo step for AI selective monitoring (선별관제): three City Hall cameras stream clips cut from
vtest.avi into the media bucket (monitor/<camera>/…); the event pump hands them to the monitor
worker; one camera has a "keep off the grass" zone that fires; the operator queue is printed and
its top event acknowledged, all over real HTTP."""

from __future__ import annotations

import io
import time
from pathlib import Path
from typing import Any

from chalicelib.adapters.resources import Resources
from chalicelib.services.selective_monitor import CameraStateStore
from local import kst
from local.api_client import authenticated
from local.platform import LocalPlatform

VTEST = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "video" / "vtest.avi"
LAWN = [[0.0, 0.47], [0.3, 0.55], [0.5, 0.64], [0.8, 0.82], [1.0, 0.92], [1.0, 1.0], [0.0, 1.0]]
LEFT_EXIT = [[0.0, 0.30], [0.14, 0.33], [0.14, 0.52], [0.0, 0.50]]
OPERATOR_GUIDANCE = 48
# camera → (rules, vtest frames [start, stop) it "streams", what it shows)
CAMERAS: dict[str, tuple[dict[str, Any], tuple[int, int], str]] = {
    "DEMO-CITYHALL-1": ({"rules": [
        {"kind": "zone_intrusion", "rule_id": "lawn", "zone": LAWN, "cooldown_s": 10},
        {"kind": "loitering", "rule_id": "lawn-loiter", "zone": LAWN, "dwell_s": 15}]},
        (480, 600), "the plaza lawn: keep off the grass, no loitering"),
    "DEMO-CITYHALL-2": ({"rules": [
        {"kind": "person_down", "rule_id": "fall"},
        {"kind": "crowding", "rule_id": "crowd", "threshold": 15, "hold_s": 2}]},
        (0, 120), "the walkway: falls and crowding"),
    "DEMO-CITYHALL-3": ({"rules": [
        {"kind": "zone_intrusion", "rule_id": "after-hours", "zone": LEFT_EXIT,
         "windows": [{"start": "22:00", "end": "06:00"}]},
        {"kind": "person_down", "rule_id": "fall"}]},
        (300, 420), "the west exit: closed 22:00-06:00, falls"),
}


def _section(title: str) -> None:
    print(f"\n== {title} " + "=" * max(0, 70 - len(title)))


def cut_clip(video: Path, start: int, stop: int, fps: int = 10) -> bytes:
    """Frames [start, stop) of ``video`` as an MP4 clip, as a camera gateway would upload it."""
    import av

    out = io.BytesIO()
    with av.open(str(video)) as source, av.open(out, mode="w", format="mp4") as sink:
        stream = sink.add_stream("mpeg4", rate=fps)
        for index, frame in enumerate(source.decode(video=0)):
            if index >= stop:
                break
            if index < start:
                continue
            if index == start:
                stream.width, stream.height, stream.pix_fmt = frame.width, frame.height, "yuv420p"
            for packet in stream.encode(frame.reformat(format="yuv420p")):
                sink.mux(packet)
        for packet in stream.encode():
            sink.mux(packet)
    return out.getvalue()


def _wait_until_analysed(resources: Resources, started: dict[str, int], timeout_s: float = 120.0) -> bool:
    states = CameraStateStore(resources.table("records"))
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if all(states.load(cid)[0].frames >= frames for cid, frames in started.items()):
            return True
        time.sleep(0.5)
    return False


def run(platform: LocalPlatform, tokens: dict[str, str], resources: Resources,
        cameras: dict[str, tuple[dict[str, Any], tuple[int, int], str]] | None = None) -> list[tuple[str, str]]:
    """``cameras`` (id → rules, vtest frames, caption) defaults to the three City Hall demo cameras."""
    cameras = CAMERAS if cameras is None else cameras
    api = platform.api_url
    # the admin and the operator call the API through the typed client generated from openapi.json
    admin, operator = authenticated(api, tokens["admin-1"]), authenticated(api, tokens["operator-1"])
    from golden_time_api_client.api.selective_monitor import ack_monitor_event, list_monitor_events, put_camera_rules
    from golden_time_api_client.models import CameraRules

    _section("Selective monitoring (선별관제): rules per camera")
    if not VTEST.is_file():
        print(f"  skipped: {VTEST} not found (the shared footage beside the repository)")
        return [("selective monitoring", "skipped: vtest.avi not found")]
    for camera_id, (rules, _, what) in cameras.items():
        put_camera_rules.sync(camera_id, client=admin, body=CameraRules.from_dict(rules))  # raises unless 200
        print(f"  {camera_id}: {what} ({', '.join(r['rule_id'] for r in rules['rules'])})")

    _section("Cameras stream clips → S3 monitor/<camera>/ → SQS → monitor worker")
    media = resources.store("media")
    expected: dict[str, int] = {}
    started = time.perf_counter()
    clip_start_ms = time.time_ns() // 1_000_000 - 60_000
    for camera_id, (_, (first, stop), _) in cameras.items():
        data = cut_clip(VTEST, first, stop)
        key = f"monitor/{camera_id}/{clip_start_ms}-clip.mp4"
        media.put(key, data, content_type="video/mp4")
        expected[camera_id] = (stop - first) // 5  # sampled at 2 fps
        print(f"  uploaded {key} ({len(data) / 1e6:.1f} MB, {(stop - first) / 10:.0f} s of vtest.avi)")
    done = _wait_until_analysed(resources, expected)
    elapsed = time.perf_counter() - started
    states = {cid: CameraStateStore(resources.table("records")).load(cid)[0] for cid in cameras}
    frames = sum(s.frames for s in states.values())
    observed = sum(s.observed_ms for s in states.values())
    surfaced = sum(s.surfaced_ms for s in states.values())
    print(f"  {'analysed' if done else 'still analysing after'} {frames} frames from {len(cameras)} cameras "
          f"in {elapsed:.1f} s (upload to last state write)")

    _section("Operator queue: GET /v1/monitor/events (priority, then newest)")
    views = [v for v in list_monitor_events.sync(client=operator).events if v.event.camera_id in cameras]
    for view in views:
        e = view.event
        sos = f"  SOS nearby: {', '.join(e.sos_incident_ids)}" if e.sos_incident_ids else ""
        print(f"  [{e.priority:5.1f}] {kst.clock(e.at)} {e.camera_id:16} {e.rule_id:12} score {e.score:.2f} "
              f"{len(e.boxes)} box(es) · {e.reason}{sos}")
        print(f"          snapshot {view.snapshot_url}")
    fired = {v.event.camera_id for v in views}
    if views:
        top = views[0].event
        acked = ack_monitor_event.sync(top.event_id, client=operator)
        print(f"  operator-1 acknowledged {top.event_id}: {acked.status.value}")
    share = surfaced / observed if observed else 0.0
    print(f"  camera-time: {observed / 1000:.0f} s observed, {surfaced / 1000:.0f} s surfaced ({share:.0%}); "
          f"cameras one operator covers at 48 per full-attention operator: "
          f"{OPERATOR_GUIDANCE / share:.0f}" if share else "  no camera-time surfaced")
    return [("monitor clips analysed", f"{len(cameras)} cameras, {frames} frames in {elapsed:.1f} s"),
            ("monitor events queued", f"{len(views)} ({', '.join(sorted(fired)) or 'none'})"),
            ("monitor surfaced share", f"{share:.0%} of camera-time"
             + (f" → {OPERATOR_GUIDANCE / share:.0f} cameras per operator" if share else ""))]
