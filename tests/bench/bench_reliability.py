"""Hostile input against the local platform over real HTTP (issue 14, points 1-3).

- ``photo_bomb_rss_mb``: growth of the API process's resident memory while it answers a missing-person
  search whose photo is a ~150 KB PNG declaring 30000×30000 pixels (target ≤ 200 MB). Sampled from
  /proc every 2 ms during the request, after a warm-up search has loaded the search stages.
- ``fuzz_requests`` / ``fuzz_5xx``: schemathesis over the published OpenAPI document with a valid token
  of every principal kind, positive and negative generation, fixed seeds, rounds until ≥ 10,000
  requests (target 0 server errors and 0 responses that break the document).

Exits 1 when a target is missed. The local platform runs the API in this process.
"""

from __future__ import annotations

import argparse
import base64
import os
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from bombs import png_bomb  # noqa: E402
from fuzz_support import SEED, FuzzReport, fuzz, fuzz_principals  # noqa: E402

from chalicelib.adapters.resources import Resources  # noqa: E402
from chalicelib.cli import create_principal  # noqa: E402
from chalicelib.models.principal import PrincipalKind  # noqa: E402
from chalicelib.settings import get_settings  # noqa: E402
from local.platform import LocalPlatform, PlatformConfig  # noqa: E402

RSS_TARGET_MB = 200.0
PAGE = os.sysconf("SC_PAGE_SIZE")


def bench(name: str, value: float, unit: str) -> None:
    print(f"BENCH {name} {value:.6g} {unit}", flush=True)


def rss_mb() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * PAGE / 1e6


def peak_rss_during(call: threading.Thread) -> float:
    """The highest RSS (MB) sampled every 2 ms while ``call`` runs."""
    peak = rss_mb()
    call.start()
    while call.is_alive():
        peak = max(peak, rss_mb())
        time.sleep(0.002)
    call.join()
    return max(peak, rss_mb())


def search_body(photo: bytes) -> dict[str, object]:
    seen = datetime.now(UTC) - timedelta(hours=1)
    return {"photos": [base64.b64encode(photo).decode()], "window_minutes": 10,
            "last_seen": {"location": {"lat": 37.5665, "lon": 126.978}, "at": seen.isoformat()}}


def photo_bomb_growth_mb(api: str, token: str) -> tuple[float, int]:
    """RSS growth while the API refuses the bomb, and the status it answered (-1 when the refusal was for
    anything but the photo's size: the figure would not measure the bomb)."""
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token}"
    warm = session.post(f"{api}/v1/searches", json=search_body(png_bomb(64)), timeout=120)
    print(f"# warm-up search with a 64x64 photo: {warm.status_code} {warm.text[:120]}", flush=True)
    body = search_body(png_bomb())
    answer: dict[str, requests.Response] = {}
    thread = threading.Thread(target=lambda: answer.update(r=session.post(f"{api}/v1/searches", json=body,
                                                                            timeout=300)))
    before = rss_mb()
    peak = peak_rss_during(thread)
    reply = answer["r"]
    print(f"# bomb search: {reply.status_code} {reply.text[:160]}", flush=True)
    if "validation_failed" in warm.text or "larger than" not in reply.text:  # the body itself refused: not a bomb test
        return peak - before, -1
    return peak - before, reply.status_code


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=10_000, help="fuzz until at least this many requests")
    parser.add_argument("--examples", type=int, default=60, help="cases per operation, allowed kind and mode")
    args = parser.parse_args()
    missed: list[str] = []
    with tempfile.TemporaryDirectory() as state:
        config = PlatformConfig(state_dir=Path(state), stage="bench", aws_port=0, api_port=0, edge_port=0,
                                with_schedules=False, batch_workers=1)
        with LocalPlatform(config) as platform:
            resources = Resources(get_settings())
            _, operator = create_principal(PrincipalKind.OPERATOR, "Bench operator", principal_id="op-bench",
                                           resources=resources)
            grown, status = photo_bomb_growth_mb(platform.api_url, operator)
            bench("photo_bomb_rss_mb", grown, "MB")
            if grown > RSS_TARGET_MB or status != 422:
                missed.append(f"photo bomb: {grown:.0f} MB, status {status}")

            tokens = fuzz_principals(resources, "bench")
            report = FuzzReport()
            started, rounds = time.perf_counter(), 0
            while report.requests < args.requests:
                fuzz(platform.api_url, tokens, examples=args.examples, rng_seed=SEED + rounds, report=report)
                rounds += 1
                print(f"# round {rounds}: {report.requests} requests, statuses {dict(sorted(report.statuses.items()))}",
                      flush=True)
            elapsed = time.perf_counter() - started
            bench("fuzz_requests", report.requests, "count")
            bench("fuzz_5xx", report.server_errors, "count")
            bench("fuzz_schema_breaks", len(report.findings), "count")
            bench("fuzz_rps", report.requests / elapsed, "req/s")
            for finding in report.findings[:20]:
                print(f"# finding: {finding}", flush=True)
            if report.server_errors or report.findings:
                missed.append(f"fuzzing: {report.server_errors} server errors, {len(report.findings)} findings")
    for miss in missed:
        print(f"# MISSED {miss}", file=sys.stderr)
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
