"""Safe-return benchmark on a local platform it starts itself (ephemeral ports, cancel window 0).

* ``sos_to_dispatch_*``: from just before ``POST /v1/sos`` to the moment its dispatch is queued for the agency on
  the dispatch queue, over ≥ 200 SOS (the cancel window is zero, so the wait is excluded).
* ``sos_to_agency_*``: from just before ``POST /v1/sos`` to the agency's webhook (a real receiver on loopback,
  verifying each signature) receiving the dispatch, through the agency-dispatch queue and the event pump
  (target ≤ 150 ms at p95).
* ``positions_http_*``: sustained ``POST /v1/trips/{id}/positions`` over real HTTP from several
  phones at once (batches of fixes), requests per second and non-200 answers.

Run: ``.venv/bin/python tests/bench/bench_saferet.py [--sos N] [--seconds S] [--clients N]``.
Prints ``BENCH <name> <value> <unit>`` lines; exits 1 when p95 > 100 ms or any position update failed.
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from agency_support import Receiver, dispatch_payloads, start_receiver

from chalicelib.adapters.resources import Resources
from chalicelib.cli import create_principal
from chalicelib.models.common import instant
from chalicelib.models.dispatch import AgencyTarget
from chalicelib.models.principal import PrincipalKind
from chalicelib.settings import get_settings
from chalicelib.wiring.saferet import build_safe_return
from local.gps_tracks import CITY_HALL, GWANGHWAMUN, HOME_ROUTE, along, offset, points_api
from local.http_client import session_from
from local.platform import LocalPlatform, PlatformConfig
from local.seoul_catalog import load_seoul

P95_TARGET_MS = 100.0
AGENCY_P95_TARGET_MS = 150.0
SOS_PER_DEVICE = 8  # under the per-device SOS limit (10 a minute)


def bench(name: str, value: float, unit: str) -> None:
    print(f"BENCH {name} {value:.2f} {unit}" if unit == "ms" else f"BENCH {name} {value:.0f} {unit}", flush=True)


def wall_ms() -> int:
    return time.time_ns() // 1_000_000


def app_device(api: str, resources: Resources, pid: str) -> tuple[requests.Session, str]:
    _, token = create_principal(PrincipalKind.APP, pid, principal_id=pid, resources=resources)
    session = session_from(token=token)
    reply = session.post(f"{api}/v1/devices", json={"platform": "ios",
                                                    "guardians": [{"name": "Mom", "phone": "+821012345678"}]})
    reply.raise_for_status()
    return session, reply.json()["device_id"]


def police_webhook(resources: Resources) -> Receiver:
    """Police 112's receiving system on loopback, registered as the 112 webhook."""
    receiver = start_receiver()
    receiver.secret = build_safe_return(resources).agencies.register(
        AgencyTarget.POLICE, receiver.url, principal_id="bench-police-112").secret
    return receiver


def agency_latencies(receiver: Receiver, started: dict[str, int]) -> list[float]:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not set(started) <= set(receiver.arrived_ms):
        time.sleep(0.05)
    return [receiver.arrived_ms[i] - t0 for i, t0 in started.items() if i in receiver.arrived_ms]


def sos_latencies(api: str, resources: Resources, count: int,
                  started: dict[str, int]) -> tuple[list[float], list[float], int]:
    devices = [app_device(api, resources, f"bench-sos-{i}") for i in range(-(-count // SOS_PER_DEVICE) + 1)]
    session, device_id = devices[-1]
    for _ in range(5):  # warm-up (not measured): first-use costs of the API container
        session.post(f"{api}/v1/sos", json={"location": {"lat": CITY_HALL[0], "lon": CITY_HALL[1]}, "device_id": device_id})
    http_ms: list[float] = []
    for n in range(count):
        session, device_id = devices[n // SOS_PER_DEVICE]
        point = offset(CITY_HALL, (n % 40) * 25.0, (n % 17) * 30.0)
        t0, p0 = wall_ms(), time.perf_counter()
        reply = session.post(f"{api}/v1/sos", json={"location": {"lat": point[0], "lon": point[1]},
                                                    "trigger": "button", "device_id": device_id})
        http_ms.append((time.perf_counter() - p0) * 1000)
        reply.raise_for_status()
        started[reply.json()["incident_id"]] = t0
    per_incident: dict[str, int] = {}  # when each SOS's dispatch was queued for its agency
    for incident_id in started:
        found = dispatch_payloads(resources, incident_id, timeout_s=30)
        if found:
            per_incident[incident_id] = int(found[0]["_queued_ms"])
    return [per_incident[i] - started[i] for i in per_incident], http_ms, len(per_incident)


def positions_load(api: str, resources: Resources, clients: int, seconds: float, batch: int) -> tuple[int, int, float]:
    phones = []
    for i in range(clients):
        session, device_id = app_device(api, resources, f"bench-walker-{i}")
        trip = session.post(f"{api}/v1/trips", json={
            "device_id": device_id, "origin": {"lat": CITY_HALL[0], "lon": CITY_HALL[1]},
            "destination": {"lat": GWANGHWAMUN[0], "lon": GWANGHWAMUN[1]}, "route": points_api(HOME_ROUTE)})
        trip.raise_for_status()
        phones.append((session, trip.json()["trip_id"]))
    counts = [[0, 0] for _ in phones]
    stop = threading.Event()

    def run(i: int) -> None:
        session, trip_id = phones[i]
        walked = 0.0
        while not stop.is_set():
            now = wall_ms()
            fixes = []
            for j in range(batch):
                walked += 1.2
                lat, lon = along(HOME_ROUTE, walked % 1000)
                fixes.append({"at": instant(now - (batch - j) * 1000 + i).isoformat(),
                              "location": {"lat": lat, "lon": lon, "accuracy_m": 10.0}})
            reply = session.post(f"{api}/v1/trips/{trip_id}/positions", json={"positions": fixes})
            counts[i][0] += 1
            counts[i][1] += reply.status_code != 200

    threads = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(clients)]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    time.sleep(seconds)
    stop.set()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - start
    return sum(c[0] for c in counts), sum(c[1] for c in counts), elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sos", type=int, default=240)
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--batch", type=int, default=5, help="fixes per position update")
    parser.add_argument("--cameras", type=int, default=20_000)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)

    with tempfile.TemporaryDirectory() as state:
        config = PlatformConfig(state_dir=Path(state), stage="bench", aws_port=0, api_port=0, edge_port=0,
                                with_schedules=False, extra_env={
                                    "SOS_CANCEL_WINDOW_S": "0", "DEVICE_REQUESTS_PER_MINUTE": "100000",
                                    "POWERTOOLS_METRICS_DISABLED": "true"})
        with LocalPlatform(config) as platform:
            resources = Resources(get_settings())
            load_seoul(args.cameras, seed=7, resources=resources)
            receiver = police_webhook(resources)
            started: dict[str, int] = {}
            latencies, http_ms, delivered = sos_latencies(platform.api_url, resources, args.sos, started)
            to_agency = agency_latencies(receiver, started)
            p50, p95 = np.percentile(latencies, [50, 95])
            agency_p95 = float(np.percentile(to_agency, 95)) if to_agency else float("inf")
            bench("sos_count", len(latencies), "sos")
            bench("sos_dispatch_messages", delivered, "messages")
            bench("sos_http_p50_ms", float(np.percentile(http_ms, 50)), "ms")
            bench("sos_to_dispatch_p50_ms", float(p50), "ms")
            bench("sos_to_dispatch_p95_ms", float(p95), "ms")
            bench("sos_to_agency_count", len(to_agency), "dispatches")
            bench("sos_to_agency_bad_signatures", receiver.bad_signatures, "requests")
            bench("sos_to_agency_p50_ms", float(np.percentile(to_agency, 50)) if to_agency else float("inf"), "ms")
            bench("sos_to_agency_p95_ms", agency_p95, "ms")
            requests, errors, elapsed = positions_load(platform.api_url, resources, args.clients, args.seconds,
                                                       args.batch)
            bench("positions_http_requests", requests, "requests")
            bench("positions_http_rps", requests / elapsed, "req/s")
            bench("positions_http_fixes_per_s", requests * args.batch / elapsed, "fixes/s")
            bench("positions_http_errors", errors, "errors")
    failed = False
    if p95 > P95_TARGET_MS:
        print(f"FAIL sos_to_dispatch_p95_ms {p95:.1f} ms exceeds the {P95_TARGET_MS} ms target", file=sys.stderr)
        failed = True
    if agency_p95 > AGENCY_P95_TARGET_MS or len(to_agency) < len(started) or receiver.bad_signatures:
        print(f"FAIL sos_to_agency_p95_ms {agency_p95:.1f} ms (target {AGENCY_P95_TARGET_MS} ms), "
              f"{len(to_agency)}/{len(started)} received, {receiver.bad_signatures} bad signatures", file=sys.stderr)
        failed = True
    if errors or delivered != len(latencies) or len(latencies) < args.sos:
        print(f"FAIL {errors} position errors; {delivered} dispatch messages for {len(latencies)} SOS", file=sys.stderr)
        failed = True
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
