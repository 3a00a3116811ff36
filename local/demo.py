"""``make demo``: the platform up in the background, a scripted scenario over real HTTP, a summary.

Later capabilities add their steps here; each step prints what a person would want to see.
"""

from __future__ import annotations

import io
import json
import shutil
import time
from pathlib import Path
from typing import Any

from chalicelib.adapters.resources import Resources
from chalicelib.cli import create_principal
from chalicelib.models.camera import Camera, CameraKind
from chalicelib.models.principal import PrincipalKind
from chalicelib.services.audit import AuditLog
from chalicelib.services.footage import FootageCatalog
from chalicelib.settings import get_settings
from chalicelib.wiring.cameras import build_camera_registry
from local import demo_links, demo_monitor, demo_saferet, demo_search, demo_xray, kst
from local.api_client import anonymous, authenticated
from local.http_client import session_from
from local.platform import LocalPlatform, PlatformConfig
from local.seoul_catalog import LANDMARKS, generate_seoul_cameras

# Each capability's scenario: run(platform, tokens, resources) -> summary rows.
# Search runs before the links step, which copies DEMO-CITYHALL-1's recording onto two more cameras.
DEMO_STEPS: tuple[Any, ...] = (demo_xray, demo_saferet, demo_search, demo_links, demo_monitor)
ROOT = Path(__file__).resolve().parent.parent
VIDEO_CANDIDATES = (ROOT.parent / "shared" / "data" / "video" / "vtest.avi",
                    Path("/usr/share/doc/opencv-doc/examples/data/vtest.avi"))
# Demo cameras around Seoul City Hall plaza, about 105 m apart; vtest.avi plays on each with start
# times 90 s apart, so a person in it could have walked from one camera to the next (a route).
DEMO_STAGGER_MS = 90_000
DEMO_CAMERAS = (("DEMO-CITYHALL-1", 37.56650, 126.97790), ("DEMO-CITYHALL-2", 37.56710, 126.97700),
                ("DEMO-CITYHALL-3", 37.56590, 126.97880))


def demo_video(work: Path) -> tuple[Path, str]:
    for candidate in VIDEO_CANDIDATES:
        if candidate.exists():
            return candidate, str(candidate)
    from chalicelib.video.segmenter import make_synthetic_video

    path = work / "synthetic.mp4"
    if not path.exists():
        make_synthetic_video(path, seconds=40, fps=10, size=(640, 360))
    return path, "generated video (vtest.avi not found)"


def _section(title: str) -> None:
    print(f"\n== {title} " + "=" * max(0, 70 - len(title)))


def run_demo(config: PlatformConfig) -> int:
    started = time.perf_counter()
    summary: list[tuple[str, str]] = []
    # EMF metric lines would bury the scenario's output; `make serve` keeps them.
    config.extra_env.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
    # The scenario creates fixed principals: it runs on an emulator state of its own, fresh each time,
    # and leaves what `make serve` keeps untouched.
    config.aws_state_dir = config.state_dir / "demo-aws"
    shutil.rmtree(config.aws_state_dir, ignore_errors=True)
    with LocalPlatform(config) as platform:
        settings = get_settings()
        resources = Resources(settings)
        api = platform.api_url
        _section("Local platform")
        print(f"API {api} · media edge {platform.edge_url} · AWS emulator {platform.emulator.endpoint_url}")

        _section("Principals (admin CLI)")
        tokens: dict[str, str] = {}
        for kind, name, pid, cidrs in (
            (PrincipalKind.ADMIN, "City admin", "admin-1", ()),
            (PrincipalKind.APP, "Citizen phone A", "app-alice", ()),
            (PrincipalKind.APP, "Citizen phone B", "app-bob", ()),
            (PrincipalKind.HEALTH_CENTER, "Jongno-gu health center", "hc-jongno", ()),
            (PrincipalKind.AGENCY, "Seoul police 112 situation room", "police-112", ("127.0.0.2/32",)),
            (PrincipalKind.OPERATOR, "Control-center operator", "operator-1", ()),
        ):
            _, tokens[pid] = create_principal(kind, name, principal_id=pid, cidrs=cidrs, resources=resources)
            print(f"  {pid:12} {kind.value:14} {name}{'  (from ' + ', '.join(cidrs) + ')' if cidrs else ''}")
        summary.append(("principals created", str(len(tokens))))

        _section("Seoul camera catalog")
        t0 = time.perf_counter()
        cameras = generate_seoul_cameras(count=100_000, seed=7)
        demo = [Camera(camera_id=cid, kind=CameraKind.CRIME_PREVENTION, district="Jung-gu", lat=lat, lon=lon,
                       stream_name=f"cam-{cid}", recording_prefix=f"footage/{cid}/") for cid, lat, lon in DEMO_CAMERAS]
        registry = build_camera_registry(resources)
        loaded = registry.load_catalog([*cameras, *demo])
        load_s = time.perf_counter() - t0
        print(f"  {loaded} cameras in 25 districts stored in DynamoDB + nearest-neighbour snapshot ({load_s:.1f} s)")
        summary.append(("cameras loaded", f"{loaded} in {load_s:.1f} s"))

        _section("Footage: vtest.avi on the demo cameras (H.264 MPEG-TS segments)")
        footage = FootageCatalog(resources.store("footage"), resources.table("footage"),
                                 retention_days=settings.footage_retention_days,
                                 segment_seconds=settings.segment_seconds)
        video, origin = demo_video(config.state_dir)
        now_ms = int(time.time() * 1000)
        for i, (cid, _, _) in enumerate(DEMO_CAMERAS):
            start_ms = now_ms - 30 * 60_000 + i * DEMO_STAGGER_MS
            segments = footage.ingest(cid, video, start_ms=start_ms, now_ms=now_ms)
            print(f"  {cid}: {len(segments)} segments from {kst.clock(start_ms)}"
                  f" ({origin})")

        _section("Nearest cameras over HTTP (operator token)")
        # every API call of the demo goes through the typed client generated from openapi.json
        operator = authenticated(api, tokens["operator-1"])
        from golden_time_api_client.api.cameras import nearby

        latencies = []
        for name, point in LANDMARKS.items():
            t1 = time.perf_counter()
            reply = nearby.sync_detailed(client=operator, lat=point.lat, lon=point.lon, k=5)
            latencies.append((time.perf_counter() - t1) * 1000)
            nearest = ", ".join(f"{c.camera.camera_id} {c.distance_m:.0f} m" for c in reply.parsed.cameras[:3])
            print(f"  {name:28} {reply.status_code.value}  {nearest} …")
        summary.append(("nearby queries over HTTP", f"{len(latencies)}, median {sorted(latencies)[len(latencies) // 2]:.1f} ms"))

        _section("Authentication and scoping")
        checks = _auth_checks(api, tokens)
        for label, outcome in checks:
            print(f"  {label:60} {outcome}")
        summary.append(("auth checks", f"{sum(o.startswith('ok') for _, o in checks)}/{len(checks)} as expected"))

        _section("Live video through the signed media edge")
        summary.append(("live playlist", _live_check(platform, settings)))

        for step in DEMO_STEPS:  # each prints its own sections
            summary += step.run(platform, tokens, resources)

        _section("Audit log")
        for record in AuditLog(resources.table("audit")).records(since_ms=int((time.time() - 3600) * 1000)):
            print(f"  {record.action:20} {record.actor:10} {record.subject or '-':12} {record.result}")

    _section("Summary")
    for label, value in summary:
        print(f"  {label:28} {value}")
    print(f"  {'total':28} {time.perf_counter() - started:.1f} s")
    # The demo's platform is stopped: `make serve` serves the console at the same address.
    print(f"\nConsole (`make serve`, then open): http://{config.host}:8000/console/  — sign in with a token from "
          "make admin ARGS='principal create --kind operator --name NAME --cidr 127.0.0.1/32'")
    return 0


def _auth_checks(api: str, tokens: dict[str, str]) -> list[tuple[str, str]]:
    from golden_time_api_client.api.cameras import nearby
    from golden_time_api_client.api.devices import get_device, register_device
    from golden_time_api_client.models import DeviceRegistration

    point: dict[str, float] = {"lat": 37.5665, "lon": 126.9780}
    results: list[tuple[str, str]] = []

    def expect(label: str, status: int, reply: Any) -> None:
        code = int(reply.status_code)
        detail = json.loads(reply.content).get("error", {}).get("message", "") if code >= 400 else ""
        results.append((label, f"{'ok' if code == status else 'UNEXPECTED'} {code} {detail}".rstrip()))

    wrong = authenticated(api, "gt.operator-1.not-the-right-secret-at-all")  # deliberately wrong
    expect("wrong token is refused", 401, nearby.sync_detailed(client=wrong, **point))
    expect("no token is refused", 401, nearby.sync_detailed(client=anonymous(api), **point))
    expect("agency from 127.0.0.1 (not registered) is refused", 403,
           nearby.sync_detailed(client=authenticated(api, tokens["police-112"], "127.0.0.1"), **point))
    expect("agency from its registered 127.0.0.2 is served", 200,
           nearby.sync_detailed(client=authenticated(api, tokens["police-112"], "127.0.0.2"), **point))
    alice, bob = authenticated(api, tokens["app-alice"]), authenticated(api, tokens["app-bob"])
    device = register_device.sync_detailed(client=alice, body=DeviceRegistration.from_dict({
        "platform": "android", "guardians": [{"name": "Mother", "phone": "+821012345678", "relation": "parent"}]}))
    expect("device registered by its owner", 201, device)
    device_id = getattr(device.parsed, "device_id", "missing")
    expect("owner reads its device", 200, get_device.sync_detailed(device_id, client=alice))
    expect("another device's owner gets 404", 404, get_device.sync_detailed(device_id, client=bob))
    expect("latitude out of range is 422", 422, nearby.sync_detailed(client=alice, lat=123, lon=126.9))
    # raw HTTP on purpose: a typed client cannot send broken JSON or call a route the contract lacks
    raw = session_from(token=tokens["app-alice"])
    expect("malformed JSON is 400", 400, raw.post(f"{api}/v1/devices", data=b"{not json",
                                                  headers={"Content-Type": "application/json"}))
    expect("unknown route is 404", 404, raw.get(f"{api}/v1/no-such-thing"))
    return results


def _live_check(platform: LocalPlatform, settings: Any) -> str:
    import av

    from chalicelib.adapters.cloudfront import CloudFrontUrlSigner

    signer = CloudFrontUrlSigner(settings.cloudfront_key_pair_id, Path(settings.signing_key_secret).read_bytes())
    camera = DEMO_CAMERAS[0][0]
    base = platform.edge_url
    from chalicelib.services.video_links.live_playlists import live_playlist_url

    url = signer.sign(live_playlist_url(base, camera, "vl-00000000000000de", int(time.time())),
                      expires_at=int(time.time()) + 300, ip_cidr="127.0.0.1/32")
    client = session_from("127.0.0.1")
    first = client.get(url)
    uris = [line for line in first.text.splitlines() if line and not line.startswith("#")]
    segment = client.get(uris[-1] if uris[-1].startswith("http") else base + uris[-1])
    with av.open(io.BytesIO(segment.content), mode="r") as container:
        frames = sum(1 for _ in container.decode(video=0))
    other = session_from("127.0.0.3").get(url)
    print(f"  playlist {first.status_code}, {len(uris)} segments; last segment {segment.status_code} "
          f"{len(segment.content)} bytes, {frames} frames decoded")
    print(f"  same link from 127.0.0.3 (outside the signed range): {other.status_code} {other.text[:80]}")
    return f"{first.status_code}, segment decodes ({frames} frames), other IP {other.status_code}"
