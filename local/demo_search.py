"""Demo step for the missing-person search: a photo of a man in a red-shouldered navy jacket, cut
from the demo footage, searched over the cameras around City Hall (DEMO-CITYHALL-1..3) from the
moment he was last seen at camera 1; prints progress, the top hits (camera, time), the route and
the time it took."""

from __future__ import annotations

import base64
import time
from datetime import datetime
from http import HTTPStatus
from pathlib import Path
from typing import Any

import cv2

from chalicelib.adapters.resources import Resources
from chalicelib.models.common import instant
from chalicelib.services.footage import FootageCatalog
from chalicelib.services.search.shard import iter_frames
from local import kst
from local.api_client import authenticated
from local.platform import LocalPlatform

VIDEO = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "video" / "vtest.avi"
CAMERAS = ("DEMO-CITYHALL-1", "DEMO-CITYHALL-2", "DEMO-CITYHALL-3")
PHOTO_FRAME, PHOTO_BOX = 230, (647, 113, 672, 173)  # hand-checked box of the man in vtest.avi at 23.0 s


def _section(title: str) -> None:
    print(f"\n== {title} " + "=" * max(0, 70 - len(title)))


def _clock(at: datetime) -> str:
    return kst.clock(at).removesuffix(" KST")


def _photo() -> str | None:
    if not VIDEO.exists():
        return None
    for frame in iter_frames(VIDEO, camera_id="demo", start_ms=0, sample_fps=10):
        if frame.time_ms == PHOTO_FRAME * 100:
            x1, y1, x2, y2 = PHOTO_BOX
            ok, data = cv2.imencode(".jpg", frame.image[y1:y2, x1:x2], [cv2.IMWRITE_JPEG_QUALITY, 92])
            return base64.b64encode(data.tobytes()).decode() if ok else None
    return None


def run(platform: LocalPlatform, tokens: dict[str, str], resources: Resources) -> list[tuple[str, str]]:
    api = platform.api_url
    # police call the API through the typed client generated from openapi.json, from their registered address
    police = authenticated(api, tokens["police-112"], "127.0.0.2")
    from golden_time_api_client.api.searches import start_search
    from golden_time_api_client.models import SearchRequest, SearchStatus

    settings = resources.settings
    footage = FootageCatalog.from_settings(resources.store("footage"), resources.table("footage"), settings)
    now_ms = int(time.time() * 1000)
    first = {cid: footage.segments_covering(cid, 0, now_ms) for cid in CAMERAS}
    if not all(first.values()):
        print("  demo cameras have no footage: search skipped")
        return [("missing-person search", "skipped (no demo footage)")]
    seen_ms = first[CAMERAS[0]][0].start_ms
    cam1 = platform_camera(resources, CAMERAS[0])

    _section("Missing-person search: photo → sightings and a route (police 112)")
    photo = _photo()
    body: dict[str, Any] = {"last_seen": {"location": {"lat": cam1["lat"], "lon": cam1["lon"]},
                                          "at": instant(seen_ms).isoformat()},
                            "window_minutes": 5, "radius_m": 400, "max_speed_mps": 2.0, "top_k": 10}
    if photo is not None:
        body.update(photos=[photo], upper_color="red")
        print(f"  subject: photo cut from the demo footage ({len(photo) * 3 // 4} bytes JPEG) + red upper clothing")
    else:
        body.update(upper_color="red")
        print("  subject: red upper clothing (no vtest.avi for a photo)")
    print(f"  last seen at {CAMERAS[0]} at {kst.clock(seen_ms)}; window 5 min; walking ≤ 2 m/s")
    started = time.perf_counter()
    reply = start_search.sync_detailed(client=police, body=SearchRequest.from_dict(body))
    if reply.status_code != HTTPStatus.ACCEPTED:
        print(f"  search refused: {reply.status_code.value} {reply.content[:200].decode(errors='replace')}")
        return [("missing-person search", f"refused {reply.status_code.value}")]
    search = reply.parsed
    excluded = search.excluded.to_dict()
    print(f"  POST /v1/searches → 202 in {time.perf_counter() - started:.1f} s: {len(search.cameras)} cameras "
          f"searched ({', '.join(search.cameras)}), {len(excluded)} nearby cameras skipped "
          f"({sum('footage' in r for r in excluded.values())} without footage, "
          f"{sum('reachable' in r for r in excluded.values())} out of walking reach), "
          f"{search.shards_total} shards, {search.footage_seconds_total:.0f} s of footage")
    answer = _wait(police, search.search_id, started)
    took = time.perf_counter() - started
    if answer is None or answer.status != SearchStatus.DONE:
        status, reason = ("timed out", "still running") if answer is None else (answer.status.value, answer.reason)
        print(f"  search {status}: {reason}")
        return [("missing-person search", f"{status} after {took:.1f} s")]
    if answer.partial:
        print(f"  partial result: {answer.reason}")
    print(f"\n  top hits ({len(answer.hits)} tracks; detector {answer.detector}, embedder {answer.embedder}):")
    for hit in answer.hits[:8]:
        best, box = hit.best, hit.best.box
        print(f"    {hit.camera_id:16} {_clock(hit.start_at)}–{_clock(hit.end_at)}  score {hit.score:.2f} "
              f"(look {best.appearance if best.appearance is not None else '-'}, colour {best.color})  "
              f"box ({box.x1:.0f},{box.y1:.0f})–({box.x2:.0f},{box.y2:.0f})  {best.upper}/{best.lower}")
    print("\n  route:")
    for stop in answer.route:
        print(f"    {_clock(stop.arrived_at)}–{_clock(stop.left_at)}  {stop.camera_id:16} score {stop.score:.2f}")
    realtime = answer.footage_seconds_total / took if took else 0.0
    print(f"\n  searched {answer.footage_seconds_total:.0f} s of footage in {took:.1f} s ({realtime:.1f}× real time, "
          "including model loading in the pool workers)")
    route = " → ".join(s.camera_id for s in answer.route) or "none"
    return [("missing-person search", f"{len(answer.hits)} tracks, route {route}, {took:.1f} s")]


def platform_camera(resources: Resources, camera_id: str) -> dict[str, Any]:
    item = resources.table("cameras").get({"camera_id": camera_id})
    assert item is not None, camera_id
    return item


def _wait(client: Any, search_id: str, started: float, timeout_s: float = 300.0) -> Any:
    """The search's answer once it is no longer running; None if it still runs after ``timeout_s``."""
    from golden_time_api_client.api.searches import get_search

    last = -1
    while time.perf_counter() - started < timeout_s:
        body = get_search.sync(search_id, client=client)
        if body.shards_done != last:
            last = body.shards_done
            print(f"  {time.perf_counter() - started:5.1f} s  {body.status.value:8} shards {body.shards_done}/"
                  f"{body.shards_total}  footage {body.footage_seconds_done:.0f}/{body.footage_seconds_total:.0f} s")
        if body.status.value != "running":
            return body
        time.sleep(0.5)
    return None
