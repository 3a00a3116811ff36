"""Demo step for agency video links (the 112/119 "real-time video request button").

``run(platform, tokens, resources)`` expects the main demo's state: the ``police-112`` agency
(registered range 127.0.0.2/32) and footage on DEMO-CITYHALL-1..3. It tops the scene up to five
recording cameras (the first demo camera's recording is copied onto the nearest catalog cameras,
no transcoding), then over real HTTP: police-112 asks from 127.0.0.2 for 5 recorded links near
Seoul City Hall, plays one clip through the signed media edge (segments decoded with PyAV), is refused a
segment of the same camera just outside the window, verifies the export's signed receipt against
the bytes it played, is refused from 127.0.0.3 (API and edge), revokes the request (the edge's
viewer-request function refuses at once), and the audit log of all of it is printed.
"""

from __future__ import annotations

import io
import time
from collections.abc import Callable
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any
from urllib.parse import urlsplit

from chalicelib.adapters.resources import Resources
from chalicelib.api import context
from chalicelib.models.camera import Camera, CameraStatus
from chalicelib.services.audit import AuditLog
from chalicelib.services.footage import FootageCatalog, segment_key
from chalicelib.services.principals import principal_id_of
from chalicelib.services.video_links.evidence import verify_receipt, verify_segments
from chalicelib.wiring.cameras import build_camera_registry
from local import kst
from local.api_client import authenticated
from local.http_client import session_from
from local.platform import LocalPlatform

CITY_HALL = {"lat": 37.5665, "lon": 126.9780}
AGENCY = "police-112"
WANTED = 5
LOOKBACK_MS = 3 * 3_600_000


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="seconds")


def _top_up_scene(resources: Resources) -> tuple[list[str], tuple[int, int]]:
    """A 30 s window of the camera nearest City Hall with footage, and WANTED nearby cameras that
    recorded it: cameras short of it are given that camera's recording."""
    settings = resources.settings
    footage = FootageCatalog.from_settings(resources.store("footage"), resources.table("footage"), settings)
    registry = build_camera_registry(resources)
    now_ms = int(time.time() * 1000)

    def recorded_between(t1: int, t2: int) -> Callable[[Camera], bool]:
        return lambda camera: bool(footage.segments_covering(camera.camera_id, t1, t2))

    found = registry.nearest(CITY_HALL["lat"], CITY_HALL["lon"], k=1, radius_m=300,
                             accept=recorded_between(now_ms - LOOKBACK_MS, now_ms))
    if not found.cameras:
        raise RuntimeError("no camera near City Hall has footage: run the main demo's footage step first")
    source = found.cameras[0].camera.camera_id
    rows = footage.segments_covering(source, now_ms - LOOKBACK_MS, now_ms)
    t1 = rows[0].start_ms + 5_000
    # the window ends where the last recorded segment starts: that segment lies outside it (the demo shows it refused)
    t2 = min(rows[-1].start_ms if len(rows) > 1 else rows[-1].end_ms - 1_000, t1 + 30_000)
    scene = registry.nearest(CITY_HALL["lat"], CITY_HALL["lon"], k=WANTED, radius_m=300,
                             accept=recorded_between(t1, t2))
    have = {c.camera.camera_id for c in scene.cameras}
    if len(have) < WANTED:
        spare = registry.nearest(CITY_HALL["lat"], CITY_HALL["lon"], k=WANTED - len(have), radius_m=300,
                                 accept=lambda c: c.camera_id not in have and c.status is CameraStatus.ACTIVE)
        store, table = resources.store("footage"), resources.table("footage")
        for camera in spare.cameras:
            target = camera.camera.camera_id
            for segment in rows:
                copy = segment.model_copy(update={"camera_id": target, "key": segment_key(target, segment.start_ms)})
                store.put(copy.key, store.get(segment.key), content_type="video/mp2t")
                table.put({**copy.model_dump(), "expires_at": footage.expires_at(copy.end_ms)})
            have.add(target)
            print(f"  {target}: given {source}'s recording ({len(rows)} segments) so the scene has {WANTED} "
                  f"recording cameras")
    return sorted(have), (t1, t2)


def _play(edge_url: str, url: str) -> tuple[int, int, float, list[int]]:
    """Fetch the playlist and every segment from 127.0.0.2; (segments, frames, seconds, statuses)."""
    import av

    player = session_from("127.0.0.2")
    playlist = player.get(url, timeout=30)
    statuses = [playlist.status_code]
    uris = [line for line in playlist.text.splitlines() if line and not line.startswith("#")]
    frames = 0
    for uri in uris:
        reply = player.get(edge_url + uri if uri.startswith("/") else uri, timeout=30)
        statuses.append(reply.status_code)
        with av.open(io.BytesIO(reply.content), mode="r") as container:
            frames += sum(1 for _ in container.decode(video=0))
    seconds = sum(float(line.split(":", 1)[1].rstrip(",")) for line in playlist.text.splitlines()
                  if line.startswith("#EXTINF:"))
    return len(uris), frames, seconds, statuses


def run(platform: LocalPlatform, tokens: dict[str, str], resources: Resources) -> list[tuple[str, str]]:
    summary: list[tuple[str, str]] = []
    token = tokens[AGENCY]
    agency = principal_id_of(token) or AGENCY
    api, edge = platform.api_url, platform.edge_url
    since = int(time.time() * 1000) - 1
    print("\n== Agency video links (112 real-time video request) " + "=" * 18)
    _, (t1, t2) = _top_up_scene(resources)
    context.reset_platform()  # the API re-reads the footage-backed camera set on its next call

    body = {"incident_number": "112-2026-004711", "location": CITY_HALL, "mode": "recorded",
            "window": {"start": _iso(t1), "end": _iso(t2)}, "purpose": "CRIME-INVESTIGATION",
            "officer_id": "officer-kim-0417", "camera_count": WANTED}
    # the agency calls the API through the typed client generated from openapi.json; playlists and segments
    # come from the media edge's signed URLs (not the API), fetched as a player would
    from golden_time_api_client.api.video_links import evidence_public_key, export_receipt, request_links, revoke_links
    from golden_time_api_client.models import VideoLinkRequest

    police = authenticated(api, token, "127.0.0.2")
    started = time.perf_counter()
    reply = request_links.sync_detailed(client=police, body=VideoLinkRequest.from_dict(body))
    took_ms = (time.perf_counter() - started) * 1000
    if reply.status_code != HTTPStatus.OK:
        print(f"  request refused: {reply.status_code.value} {reply.content.decode(errors='replace')}")
        return [("video links", f"UNEXPECTED {reply.status_code.value}")]
    grant: dict[str, Any] = reply.parsed.to_dict()
    links = grant["links"]
    print(f"  {agency} from 127.0.0.2, incident {body['incident_number']}, window {kst.stamp(t1)} … {kst.clock(t2)}:"
          f" {reply.status_code.value}, {len(links)} recorded links in {took_ms:.0f} ms (request {grant['request_id']})")
    for link in links:
        print(f"    {link['camera_id']:18} {link['distance_m']:6.0f} m  {link['segments']} segments  "
              f"expires {link['expires_at']}  bound to {grant['source_cidr']}")
    started = time.perf_counter()
    # warm: the camera index and signing key are loaded
    again = request_links.sync_detailed(client=police, body=VideoLinkRequest.from_dict(body))
    warm_ms = (time.perf_counter() - started) * 1000
    warm_links = len(again.parsed.links) if again.status_code == HTTPStatus.OK else 0
    print(f"  the same request again (warm API): {again.status_code.value}, {warm_links} links in {warm_ms:.0f} ms")
    summary.append(("video links from 127.0.0.2", f"{reply.status_code.value}, {len(links)} recorded links, "
                                                  f"{took_ms:.0f} ms cold / {warm_ms:.0f} ms warm over HTTP"))

    segments, frames, seconds, statuses = _play(edge, links[0]["url"])
    ok = all(s == 200 for s in statuses)
    print(f"  played {links[0]['camera_id']} through the edge: playlist + {segments} segments "
          f"{'all 200' if ok else statuses}, {frames} frames decoded, {seconds:.1f} s covering "
          f"{links[0]['covers_from']} … {links[0]['covers_until']}")
    summary.append(("recorded clip via the edge", f"{segments} segments, {frames} frames decoded, {seconds:.1f} s"))

    # the window is the whole grant: the link's signature on a segment of the same camera outside it
    camera = links[0]["camera_id"]
    footage = FootageCatalog.from_settings(resources.store("footage"), resources.table("footage"), resources.settings)
    later = [seg for seg in footage.segments_covering(camera, t1 - 3_600_000, t2 + 3_600_000)
             if seg.start_ms >= t2 or seg.end_ms <= t1]
    if later:
        signing = links[0]["url"].split("&", 1)[1]  # Policy, Signature, Key-Pair-Id of the playlist URL
        stretched = f"{edge}/footage/{later[0].key}?link={grant['request_id']}&{signing}"
        outside = session_from("127.0.0.2").get(stretched)
        print(f"  the link's signature on {camera}'s segment outside the window: {outside.status_code} "
              f"({outside.json()['error']['message']})")
        summary.append(("out-of-window segment", f"{outside.status_code} {outside.json()['error']['message']}"))

    # chain of custody: the signed receipt, verified with the published key against the bytes played
    receipt = export_receipt.sync(grant["request_id"], client=police).to_dict()
    public_pem = evidence_public_key.sync(client=police).public_key_pem.encode()
    document = verify_receipt(receipt, public_pem)
    player = session_from("127.0.0.2")
    uris = [line for line in player.get(links[0]["url"]).text.splitlines() if line and not line.startswith("#")]
    played = {urlsplit(uri).path.removeprefix("/footage/"): player.get(uri).content for uri in uris}
    mine = {**document, "segments": [s for s in document["segments"] if s["key"] in played]}
    mismatched = verify_segments(mine, played.__getitem__)
    print(f"  export receipt: signature verified with the published key ({receipt['algorithm']}); "
          f"{len(document['segments'])} segments of {len(document['cameras'])} cameras under legal hold; "
          f"the {len(played)} played segments of {camera} match their SHA-256: {not mismatched}")
    summary.append(("export receipt", f"verified, {len(document['segments'])} segments held, "
                                      f"{'hashes match' if not mismatched else 'MISMATCH'}"))

    outside_api = request_links.sync_detailed(client=authenticated(api, token, "127.0.0.3"),
                                              body=VideoLinkRequest.from_dict(body))
    outside_edge = session_from("127.0.0.3").get(links[0]["url"])
    print(f"  same agency from 127.0.0.3: API {outside_api.status_code.value} "
          f"({outside_api.parsed.error.message}); edge {outside_edge.status_code} "
          f"({outside_edge.json()['error']['message']})")
    summary.append(("from 127.0.0.3", f"API {outside_api.status_code.value}, edge {outside_edge.status_code}"))

    revoked = revoke_links.sync_detailed(grant["request_id"], client=police)
    if again.status_code == HTTPStatus.OK:
        revoke_links.sync(again.parsed.request_id, client=police)
    after = session_from("127.0.0.2").get(links[1]["url"])
    print(f"  revoked the request: {revoked.status_code.value} {revoked.parsed.status.value}; "
          f"{links[1]['camera_id']} at the edge now {after.status_code} ({after.json()['error']['message']})")
    summary.append(("revoked link at the edge", str(after.status_code)))

    time.sleep(0.3)  # the edge writes its access record just after answering
    records = [r for r in AuditLog(resources.table("audit")).records(since_ms=since)
               if r.action.startswith(("video-link.", "edge.access"))]
    print(f"  audit log ({len(records)} records):")
    for record in records:
        moment = kst.clock(record.at_ms)
        what = record.details.get("cameras") or record.details.get("path") or record.details.get("reason")
        print(f"    {moment} {record.action:18} {record.result:8} {record.actor:14} {record.source_ip or '-':10} "
              f"{record.subject or '-':20} {what}")
    counts = {action: sum(r.action == action for r in records)
              for action in ("video-link.issued", "video-link.denied", "video-link.revoked", "edge.access")}
    summary.append(("video-link audit records", ", ".join(f"{k.split('.')[-1]} {v}" for k, v in counts.items())))
    return summary
