"""Reliability of the served platform (`python -m local serve`, a child process, real HTTP):

* ``faults_*``: under ``--faults 0.2`` (20 % of AWS calls fail, 10 % of messages delivered twice),
  100 X-ray uploads, 100 SOS and 3 searches; every acknowledged item must come out exactly once
  (a reading notice per study, a 112 dispatch per SOS, a 112 answer per search).
* ``restart_lost``: items acknowledged before a ``kill -9`` of the platform *and* its emulator at the
  same instant (no last checkpoint: the journal alone) that are missing after the restart — principals,
  trips with their positions, studies, SOS inside their cancel window (which must still reach 112),
  footage segments and searches.
* ``positions_http_*``: 4 phones posting position batches for 2 minutes; latency of each request.

Run: ``.venv/bin/python tests/bench/bench_reliability_platform.py [--positions-seconds 120] [--studies 100]
[--sos 100] [--searches 3] [--only faults,restart,positions]``. Exits 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import requests

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from agency_support import dispatch_payloads  # noqa: E402
from reliability_support import HERE, call, run_workload  # noqa: E402
from search_support import VIDEO, write_clip  # noqa: E402
from serve_support import Served, alive, serve  # noqa: E402

from chalicelib.adapters import aws as aws_clients  # noqa: E402
from chalicelib.adapters.resources import Resources  # noqa: E402
from chalicelib.api import context  # noqa: E402
from chalicelib.cli import create_principal  # noqa: E402
from chalicelib.models.camera import Camera, CameraKind  # noqa: E402
from chalicelib.models.common import instant  # noqa: E402
from chalicelib.models.principal import PrincipalKind  # noqa: E402
from chalicelib.services.cameras import CameraRegistry  # noqa: E402
from chalicelib.services.footage import FootageCatalog  # noqa: E402
from chalicelib.settings import get_settings  # noqa: E402
from local.gps_tracks import CITY_HALL, GWANGHWAMUN, HOME_ROUTE, along, points_api  # noqa: E402
from local.http_client import session_from  # noqa: E402
from local.xray_samples import png_bytes, synthetic_chest  # noqa: E402

P99_TARGET_MS = 150.0
UNLIMITED = {"DEVICE_REQUESTS_PER_MINUTE": "100000", "POWERTOOLS_METRICS_DISABLED": "true"}


def bench(name: str, value: float, unit: str) -> None:
    print(f"BENCH {name} {value:.6g} {unit}", flush=True)


def resources_for(served: Served) -> Resources:
    os.environ.update({"AWS_ENDPOINT_URL": served.aws_url, "STAGE": "local", "AWS_REGION": "ap-northeast-2",
                       "AWS_DEFAULT_REGION": "ap-northeast-2", "AWS_ACCESS_KEY_ID": "local",
                       "AWS_SECRET_ACCESS_KEY": "local"})
    get_settings.cache_clear()
    aws_clients.reset_clients()
    context.reset_platform()
    return Resources(get_settings())


def faults(args: argparse.Namespace, work: Path) -> tuple[int, int]:
    served = serve(work / "faults", "--faults", "0.2", env=UNLIMITED)
    try:
        clip = write_clip(work / "clip.avi", 220, 40) if args.searches and VIDEO.exists() else None
        outcome = run_workload(served.api_url, resources_for(served), studies=args.studies, sos=args.sos,
                               searches=args.searches if clip else 0, clip=clip, settle_s=600)
    finally:
        served.stop()
    report = [line for line in (work / "faults" / "serve.log").read_text().splitlines()
              if line.startswith("faults injected")]
    print(f"# {report[-1] if report else 'no fault report'}; refused {dict(outcome.refused)}; "
          f"phases {({k: round(v, 1) for k, v in outcome.phases_s.items()})}", flush=True)
    lost, duplicated = outcome.lost(), outcome.duplicated()
    for kind, ids in outcome.acknowledged.items():
        bench(f"faults_{kind}_acknowledged", len(ids), "count")
        if lost[kind] or duplicated[kind]:
            print(f"# {kind}: lost {lost[kind][:5]} duplicated {duplicated[kind][:5]}", flush=True)
    lost_n, dup_n = sum(map(len, lost.values())), sum(map(len, duplicated.values()))
    bench("faults_lost", lost_n, "count")
    bench("faults_duplicated", dup_n, "count")
    return lost_n, dup_n


def _write_before_kill(api: str, resources: Resources, n: int, clip: Path | None) -> dict[str, Any]:
    made: dict[str, Any] = {"principals": {}, "trips": {}, "studies": [], "sos": [], "footage": [], "searches": []}
    CameraRegistry(resources.table("cameras"), resources.store("media"),
                   index_key=get_settings().camera_index_key).load_catalog(
        [Camera(camera_id=f"RL-{i}", kind=CameraKind.CRIME_PREVENTION, district="Jung-gu",
                lat=CITY_HALL[0] + i * 0.001, lon=CITY_HALL[1]) for i in range(8)])
    _, center = create_principal(PrincipalKind.HEALTH_CENTER, "rl-hc", principal_id="rl-hc", resources=resources)
    _, operator = create_principal(PrincipalKind.OPERATOR, "rl-op", principal_id="rl-op", resources=resources)
    made["principals"].update({"rl-hc": center, "rl-op": operator})
    seen_ms = int(time.time() * 1000) - 300_000
    if clip is not None:
        footage = FootageCatalog.from_settings(resources.store("footage"), resources.table("footage"), get_settings(),
                                               preset="ultrafast")
        resources.table("cameras").put_many([Camera(
            camera_id="RL-SEARCH", kind=CameraKind.CRIME_PREVENTION, district="Jung-gu", lat=37.57,
            lon=126.99).model_dump(mode="json", exclude_none=True)])
        footage.ingest("RL-SEARCH", clip, start_ms=seen_ms + 2_000)
        made["footage"] = [(s.camera_id, s.start_ms) for s in footage.segments_covering("RL-SEARCH", seen_ms,
                                                                                        seen_ms + 600_000)]
    film = png_bytes(synthetic_chest(256))
    for i in range(n):
        _, token = create_principal(PrincipalKind.APP, f"rl-app-{i}", principal_id=f"rl-app-{i}", resources=resources)
        made["principals"][f"rl-app-{i}"] = token
        phone = session_from(token=token)
        device = phone.post(f"{api}/v1/devices", json={"platform": "android",
                                                       "guardians": [{"name": "Mom", "phone": "+821055556666"}]})
        trip = phone.post(f"{api}/v1/trips", json={
            "device_id": device.json()["device_id"], "origin": HERE,
            "destination": {"lat": GWANGHWAMUN[0], "lon": GWANGHWAMUN[1]}, "route": points_api(HOME_ROUTE)})
        now = int(time.time() * 1000)
        fixes = [{"at": instant(now - (5 - j) * 1000).isoformat(), "location": {
            "lat": along(HOME_ROUTE, j * 1.2)[0], "lon": along(HOME_ROUTE, j * 1.2)[1], "accuracy_m": 10.0}}
                 for j in range(5)]
        if phone.post(f"{api}/v1/trips/{trip.json()['trip_id']}/positions", json={"positions": fixes}).ok:
            made["trips"][trip.json()["trip_id"]] = (token, 5)
        study = session_from(token=center).post(f"{api}/v1/xray/studies", json={"filename": "chest.png"})
        form = study.json()["upload"]
        if requests.post(form["url"], data=form["fields"], files={"file": ("chest.png", film)}, timeout=30).ok:
            made["studies"].append(study.json()["study_id"])
    for i in range(n):  # last, so each is still inside its cancel window at the kill
        sos = session_from(token=made["principals"][f"rl-app-{i}"]).post(
            f"{api}/v1/sos", json={"location": HERE, "trigger": "button", "cancel_window_s": 8})
        if sos.status_code == 201:
            made["sos"].append(sos.json()["incident_id"])
    if clip is not None:
        search = session_from(token=operator).post(f"{api}/v1/searches", json={
            "upper_color": "red", "last_seen": {"location": {"lat": 37.57, "lon": 126.99}, "at": instant(seen_ms).isoformat()},
            "window_minutes": 3, "camera_ids": ["RL-SEARCH"], "top_k": 5})
        if search.status_code == 202:
            made["searches"].append(search.json()["search_id"])
    return made


def _missing_after_restart(api: str, resources: Resources, made: dict[str, Any]) -> dict[str, list[str]]:
    missing: dict[str, list[str]] = {k: [] for k in made}
    for pid, token in made["principals"].items():
        if session_from(token=token).get(f"{api}/v1/incidents" if pid == "rl-op" else
                                         f"{api}/v1/xray/studies/none" if pid == "rl-hc" else
                                         f"{api}/v1/trips/none").status_code == 401:
            missing["principals"].append(pid)
    for trip_id, (token, fixes) in made["trips"].items():
        reply = session_from(token=token).get(f"{api}/v1/trips/{trip_id}")
        if reply.status_code != 200 or reply.json()["fixes"] < fixes:
            missing["trips"].append(trip_id)
    center = session_from(token=made["principals"]["rl-hc"])
    missing["studies"] = [s for s in made["studies"] if center.get(f"{api}/v1/xray/studies/{s}").status_code != 200]
    footage = FootageCatalog.from_settings(resources.store("footage"), resources.table("footage"), get_settings())
    for camera_id, start_ms in made["footage"]:
        if not [s for s in footage.segments_covering(camera_id, start_ms, start_ms + 1) if s.start_ms == start_ms]:
            missing["footage"].append(f"{camera_id}@{start_ms}")
    op = session_from(token=made["principals"]["rl-op"])
    missing["searches"] = [s for s in made["searches"] if op.get(f"{api}/v1/searches/{s}").status_code != 200]
    # every SOS inside its window at the kill reaches 112 after the restart
    dispatched: set[str] = set()
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and not set(made["sos"]) <= dispatched:
        dispatched |= {i for i in made["sos"] if dispatch_payloads(resources, i, timeout_s=0)}  # its dispatch record
        time.sleep(1)
    missing["sos"] = [i for i in made["sos"] if i not in dispatched]
    return missing


def restart(args: argparse.Namespace, work: Path) -> int:
    state = work / "restart"
    first = serve(state, env=UNLIMITED)
    clip = write_clip(work / "restart-clip.avi", 220, 40) if VIDEO.exists() else None
    made = _write_before_kill(first.api_url, resources_for(first), args.restart_items, clip)
    emulator_pid = int((state / "aws" / "emulator.pid").read_text())
    os.kill(emulator_pid, signal.SIGKILL)  # both at once: no last checkpoint, the journal alone
    first.kill_hard()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and [pid for pid in first.children if alive(pid)]:
        time.sleep(0.2)
    orphans = [pid for pid in first.children if alive(pid)]
    for pid in orphans:
        command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")[:200]
        print(f"# orphan {pid}: {command!r}", flush=True)
    second = serve(state, env=UNLIMITED)
    try:
        missing = _missing_after_restart(second.api_url, resources_for(second), made)
    finally:
        second.stop()
    for kind, ids in missing.items():
        bench(f"restart_{kind}_acknowledged", len(made[kind]), "count")
        if ids:
            print(f"# restart lost {kind}: {ids[:5]}", flush=True)
    untried = [kind for kind in missing if not made[kind]]  # a body the API refused: that kind proves nothing
    if untried:
        print(f"# nothing acknowledged before the kill: {untried}", flush=True)
    lost = sum(map(len, missing.values()))
    bench("restart_lost", lost, "count")
    bench("restart_orphans", len(orphans), "processes")
    return lost + len(orphans) + len(untried)


def positions(args: argparse.Namespace, work: Path) -> float:
    served = serve(work / "positions", env=UNLIMITED)
    if args.hold_s:  # time to attach a profiler (py-spy record --pid …) before the load starts
        print(f"# platform pid {served.process.pid}, children {served.children}", flush=True)
        time.sleep(args.hold_s)
    try:
        resources = resources_for(served)
        api = served.api_url
        phones = []
        for i in range(args.clients):
            _, token = create_principal(PrincipalKind.APP, f"pos-{i}", principal_id=f"pos-{i}", resources=resources)
            phone = session_from(token=token)
            device = call(phone.post, f"{api}/v1/devices", json={"platform": "ios", "guardians": []})
            trip = call(phone.post, f"{api}/v1/trips", json={
                "device_id": device.json()["device_id"], "origin": HERE,
                "destination": {"lat": GWANGHWAMUN[0], "lon": GWANGHWAMUN[1]}, "route": points_api(HOME_ROUTE)})
            phones.append((phone, trip.json()["trip_id"]))
        latencies: list[list[float]] = [[] for _ in phones]
        errors = [0] * len(phones)
        stop = threading.Event()
        began = time.perf_counter()

        def walk(i: int) -> None:
            phone, trip_id = phones[i]
            walked = 0.0
            while not stop.is_set():
                now = int(time.time() * 1000)
                fixes = []
                for j in range(5):
                    walked += 1.2
                    lat, lon = along(HOME_ROUTE, walked % 1000)
                    fixes.append({"at": instant(now - (5 - j) * 1000 + i).isoformat(),
                                  "location": {"lat": lat, "lon": lon, "accuracy_m": 10.0}})
                started = time.perf_counter()
                reply = phone.post(f"{api}/v1/trips/{trip_id}/positions", json={"positions": fixes}, timeout=30)
                latencies[i].append((time.perf_counter() - started) * 1000)
                if latencies[i][-1] > 1000:  # where the stalls fall in the run
                    print(f"# slow request at t={started - began:.1f} s: {latencies[i][-1]:.0f} ms", flush=True)
                errors[i] += reply.status_code != 200

        threads = [threading.Thread(target=walk, args=(i,), daemon=True) for i in range(len(phones))]
        for thread in threads:
            thread.start()
        time.sleep(args.positions_seconds)
        stop.set()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - began
    finally:
        served.stop()
    every = np.concatenate([np.asarray(x) for x in latencies])
    bench("positions_http_requests", len(every), "requests")
    bench("positions_http_rps", len(every) / elapsed, "req/s")
    bench("positions_http_p50_ms", float(np.percentile(every, 50)), "ms")
    bench("positions_http_p99_ms", float(np.percentile(every, 99)), "ms")
    bench("positions_http_max_ms", float(every.max()), "ms")
    bench("positions_http_errors", sum(errors), "count")
    return float(np.percentile(every, 99)) if not sum(errors) else float("inf")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--studies", type=int, default=100)
    parser.add_argument("--sos", type=int, default=100)
    parser.add_argument("--searches", type=int, default=3)
    parser.add_argument("--restart-items", type=int, default=10)
    parser.add_argument("--positions-seconds", type=float, default=120.0)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--only", default="faults,restart,positions")
    parser.add_argument("--hold-s", type=float, default=0.0, help="pause before the positions load (profiling)")
    args = parser.parse_args()
    parts = set(args.only.split(","))
    misses = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        if "faults" in parts and any(faults(args, work)):
            misses.append("faults")
        if "restart" in parts and restart(args, work):
            misses.append("restart")
        if "positions" in parts and positions(args, work) > P99_TARGET_MS:
            misses.append(f"positions_http_p99_ms > {P99_TARGET_MS}")
    if misses:
        print(f"FAIL {', '.join(misses)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
