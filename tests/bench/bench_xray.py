"""X-ray benchmark on the local platform: upload → reading end to end, cold start, throughput, stages.

Run: ``.venv/bin/python tests/bench/bench_xray.py [--uploads 60] [--burst 60] [--rate 4]``.
Starts its own LocalPlatform on ephemeral ports, creates a health center, then:

1. cold: the first upload right after start, until its reading is stored (includes the reader's
   first import, reference-model registration, hash check, session creation and warm-up);
2. latency: ``--uploads`` real images (../shared/data/cxr, cycled; generated films when absent)
   uploaded through presigned POSTs at ``--rate`` per second; e2e = reading stored − upload start
   (the server-side completion time, so the client's polling interval does not count; the polled
   figure is printed too);
3. throughput: ``--burst`` studies created first, then all their images uploaded at once
   (8 client threads); readings/s = readings / (last reading stored − first upload start).

4. real: a stand-in model of realistic cost generated in code (``local/standin_models.realistic``:
   ≈ 85 MB of weights, tens of ms per image) is registered like any third-party model and made active;
   ``xray_real_inference_ms`` is its bare onnxruntime time per image, then ``--real-uploads`` paced
   uploads give ``xray_real_e2e_p95_s`` (upload → reading stored) and ``xray_real_heatmap_p95_s``
   (upload → heat map added, the step after the reading), and a burst of ``--real-burst`` gives
   ``xray_real_throughput_per_s``.

Prints ``BENCH <name> <value> <unit>`` lines and ``# targets missed`` (p95 ≤ 1.0 s, cold ≤ 3 s,
≥ 10 readings/s; real model: e2e p95 ≤ 0.25 s, heat map p95 ≤ 1.5 s, ≥ 8 readings/s); with
``--strict`` a missed target exits 1.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any

import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from chalicelib.adapters.resources import Resources
from chalicelib.cli import create_principal
from chalicelib.models.principal import PrincipalKind
from chalicelib.settings import get_settings
from local.http_client import session_from
from local.platform import LocalPlatform, PlatformConfig
from local.xray_samples import sample_uploads

STAGES = ("queue_wait", "fetch", "decode", "quality", "preprocess", "inference", "heatmap", "store", "total")
TARGETS = {"xray_e2e_p95_s": 1.0, "xray_cold_s": 3.0}
THROUGHPUT_TARGET = 10.0
REAL_TARGETS = {"xray_real_e2e_p95_s": 0.25, "xray_real_heatmap_p95_s": 1.5}
REAL_THROUGHPUT_TARGET = 8.0
_local = threading.local()


StudyForm = tuple[dict[str, Any], str, bytes]  # the created study (with its presigned POST), file name, bytes



def _seconds(at: str) -> float:
    """An RFC 3339 time from the API as epoch seconds."""
    return datetime.fromisoformat(at).timestamp()

def create_studies(client: Any, api: str, samples: list[tuple[str, bytes]], count: int) -> list[StudyForm]:
    """``count`` studies created first (cycling through ``samples``), so a burst measures uploads alone."""
    forms = []
    for i in range(count):
        name, data = samples[i % len(samples)]
        created = client.post(f"{api}/v1/xray/studies", json={"filename": name})
        created.raise_for_status()
        forms.append((created.json(), name, data))
    return forms


def upload_all(forms: list[StudyForm]) -> list[float]:
    """Every image uploaded at once (8 at a time); each upload's start time."""
    def post(form: StudyForm) -> float:
        body, name, data = form
        started = time.time()
        upload = body["upload"]
        requests.post(upload["url"], data=upload["fields"], files={"file": (name, data)},
                      timeout=30).raise_for_status()
        return started

    with ThreadPoolExecutor(max_workers=8) as pool:
        return list(pool.map(post, forms))


def bench(name: str, value: float, unit: str) -> None:
    print(f"BENCH {name} {value:.3f} {unit}", flush=True)


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))]


def session(token: str) -> requests.Session:
    if getattr(_local, "session", None) is None:
        _local.session = session_from(token=token)
    found: requests.Session = _local.session
    return found


def one_study(api: str, token: str, name: str, data: bytes, poll_s: float = 0.25,
              heatmap: bool = False) -> dict[str, Any]:
    """Create, upload, poll until settled (and, with ``heatmap``, until its heat map is added); returns the
    study with client-side times."""
    client = session(token)
    created = client.post(f"{api}/v1/xray/studies", json={"filename": name})
    created.raise_for_status()
    body = created.json()
    form = body["upload"]
    started = time.time()
    requests.post(form["url"], data=form["fields"], files={"file": (name, data)}, timeout=30).raise_for_status()
    while True:
        study = client.get(f"{api}/v1/xray/studies/{body['study_id']}").json()
        waiting = heatmap and study["status"] == "done" and not has_heatmap(study)
        if study["status"] != "pending" and not waiting:
            study["_started"] = started
            study["_observed"] = time.time()
            return dict(study)
        if time.time() - started > 60:
            raise RuntimeError(f"study {body['study_id']} still pending after 60 s")
        time.sleep(poll_s)


def _cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def e2e_s(study: dict[str, Any]) -> float:
    return float(_seconds(study["reading"]["completed_at"]) - study["_started"])


def has_heatmap(study: dict[str, Any]) -> bool:
    """The heat-map step has run: the study view links its heat map (the bucket key stays inside)."""
    return bool((study.get("links") or {}).get("heatmap"))


def heatmap_s(study: dict[str, Any]) -> float:
    """Upload → heat map added (the study's last server-side update is the heat-map step's)."""
    return float(_seconds(study["updated_at"]) - study["_started"])


def bare_inference_ms(model: bytes, repeats: int = 30) -> float:
    """Median time of one image through the model alone, onnxruntime on this machine's CPU."""
    import numpy as np
    import onnxruntime as ort

    session = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
    x = np.random.default_rng(0).standard_normal((1, 3, 224, 224)).astype(np.float32)
    for _ in range(3):
        session.run(["logits"], {"image": x})
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        session.run(["logits"], {"image": x})
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def real_model_phase(api: str, token: str, samples: list[tuple[str, bytes]], args: argparse.Namespace
                     ) -> dict[str, float]:
    """The realistic stand-in registered through the CLI's path, then latency, heat map and a burst."""
    import json

    from chalicelib.cli import register_xray_model
    from functions.xray_reader import handler
    from local.standin_models import realistic

    model, manifest = realistic()
    print(f"# realistic stand-in: {len(model) / 1e6:.1f} MB of model, input {manifest['size']}, "
          f"{manifest['colour']}, {manifest['resize']}, {manifest['fit']}", flush=True)
    out = {"xray_real_inference_ms": bare_inference_ms(model)}
    bench("xray_real_inference_ms", out["xray_real_inference_ms"], "ms")
    register_xray_model(model, json.dumps(manifest), activate=True, resources=Resources(get_settings()))
    handler.runtime.cache_clear()  # the reader's next batch loads the newly active model (a fresh container)
    warm = one_study(api, token, *samples[0], heatmap=True)
    assert warm["reading"]["model"]["name"] == manifest["name"], warm
    print(f"# heat maps by: {warm['reading']['heatmap_method']}", flush=True)

    with ThreadPoolExecutor(max_workers=16) as pool:
        futures = []
        for i in range(args.real_uploads):
            futures.append(pool.submit(one_study, api, token, *samples[i % len(samples)], 0.05, True))
            time.sleep(1.0 / args.real_rate)
        done = [r for r in (f.result() for f in futures) if r["status"] == "done"]
    out["xray_real_e2e_p95_s"] = pct([e2e_s(r) for r in done], 95)
    out["xray_real_heatmap_p95_s"] = pct([heatmap_s(r) for r in done if has_heatmap(r)], 95)
    bench("xray_real_e2e_p50_s", statistics.median(e2e_s(r) for r in done), "s")
    bench("xray_real_e2e_p95_s", out["xray_real_e2e_p95_s"], "s")
    bench("xray_real_heatmap_p95_s", out["xray_real_heatmap_p95_s"], "s")
    for stage in ("decode", "preprocess", "inference", "heatmap"):
        bench(f"xray_real_stage_{stage}_p50_ms", statistics.median(r["reading"]["timings"][f"{stage}_ms"] for r in done),
              "ms")

    client = session(token)
    forms = create_studies(client, api, samples, args.real_burst)
    starts = upload_all(forms)
    finished = []
    deadline = time.time() + 180
    for body, _, _ in forms:
        while time.time() < deadline:
            study = client.get(f"{api}/v1/xray/studies/{body['study_id']}").json()
            if study["status"] != "pending":
                if study["status"] == "done":
                    finished.append(study)
                break
            time.sleep(0.2)
    span = max(_seconds(r["reading"]["completed_at"]) for r in finished) - min(starts)
    out["xray_real_throughput_per_s"] = len(finished) / span
    print(f"# real burst: {len(finished)}/{args.real_burst} readings in {span:.2f} s, mean batch "
          f"{statistics.mean(r['reading']['timings']['batch_size'] for r in finished):.1f}", flush=True)
    bench("xray_real_throughput_per_s", out["xray_real_throughput_per_s"], "readings/s")
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--uploads", type=int, default=60)
    parser.add_argument("--burst", type=int, default=60)
    parser.add_argument("--rate", type=float, default=2.0, help="uploads per second in the latency phase")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument("--real-uploads", type=int, default=30, help="paced uploads with the realistic model")
    parser.add_argument("--real-rate", type=float, default=2.0)
    parser.add_argument("--real-burst", type=int, default=50)
    args = parser.parse_args()
    samples = [(n, d) for n, d in sample_uploads() if not n.startswith("covid")] or sample_uploads()
    print(f"# {len(samples)} sample images: {', '.join(n[:24] for n, _ in samples)}", flush=True)

    with tempfile.TemporaryDirectory() as state:
        t0 = time.perf_counter()
        config = PlatformConfig(state_dir=Path(state), stage="bench", aws_port=0, api_port=0, edge_port=0,
                                with_schedules=False, batch_workers=1)
        with LocalPlatform(config) as platform:
            bench("xray_platform_start_s", time.perf_counter() - t0, "s")
            _, token = create_principal(PrincipalKind.HEALTH_CENTER, "Bench health center", principal_id="hc-bench",
                                        resources=Resources(get_settings()))
            api = platform.api_url

            cold = one_study(api, token, *samples[0])
            if cold["status"] != "done":
                print(f"cold study not done: {cold}", file=sys.stderr)
                return 1
            bench("xray_cold_s", e2e_s(cold), "s")

            # latency: paced uploads, each in its own thread
            results: list[dict[str, Any]] = []
            with ThreadPoolExecutor(max_workers=16) as pool:
                futures = []
                for i in range(args.uploads):
                    futures.append(pool.submit(one_study, api, token, *samples[i % len(samples)]))
                    time.sleep(1.0 / args.rate)
                results = [f.result() for f in futures]
            done = [r for r in results if r["status"] == "done"]
            not_done = [r for r in results if r["status"] != "done"]
            if not_done:
                print(f"# {len(not_done)} not done: {[r.get('reason') for r in not_done][:3]}", flush=True)
            latencies = [e2e_s(r) for r in done]
            observed = [r["_observed"] - r["_started"] for r in done]
            print(f"# latency phase: {len(done)} readings at {args.rate}/s", flush=True)
            bench("xray_e2e_p50_s", statistics.median(latencies), "s")
            bench("xray_e2e_p95_s", pct(latencies, 95), "s")
            bench("xray_e2e_polled_p95_s", pct(observed, 95), "s")
            for stage in STAGES:
                bench(f"xray_stage_{stage}_p50_ms", statistics.median(r["reading"]["timings"][f"{stage}_ms"] for r in done), "ms")
            bench("xray_batch_size_mean", statistics.mean(r["reading"]["timings"]["batch_size"] for r in done), "images")

            # throughput: studies created first, then every image uploaded at once; readings/s over the span
            client = session(token)
            forms = create_studies(client, api, samples, args.burst)
            cpu_before = _cpu_s()
            starts = upload_all(forms)
            uploaded_in = time.time() - min(starts)
            burst: list[dict[str, Any]] = []
            deadline = time.time() + 120
            for (body, _, _), started in zip(forms, starts, strict=True):
                while time.time() < deadline:
                    study = client.get(f"{api}/v1/xray/studies/{body['study_id']}").json()
                    if study["status"] != "pending":
                        study["_started"] = started
                        burst.append(study)
                        break
                    time.sleep(0.5)
            cpu_used = _cpu_s() - cpu_before
            finished = [r for r in burst if r["status"] == "done"]
            span = max(_seconds(r["reading"]["completed_at"]) for r in finished) - min(starts)
            throughput = len(finished) / span
            print(f"# burst: {len(finished)}/{args.burst} readings in {span:.2f} s (all uploads sent in "
                  f"{uploaded_in:.2f} s), mean batch "
                  f"{statistics.mean(r['reading']['timings']['batch_size'] for r in finished):.1f}", flush=True)
            bench("xray_throughput_per_s", throughput, "readings/s")
            # context for a shared machine: CPU this process got, and CPU spent per reading (platform included)
            bench("xray_burst_cpu_cores_used", cpu_used / (time.time() - min(starts)), "cores")
            bench("xray_burst_cpu_per_reading_ms", cpu_used / max(1, len(finished)) * 1000, "ms")
            bench("xray_burst_e2e_p95_s", pct([e2e_s(r) for r in finished], 95), "s")
            for stage in ("fetch", "decode", "inference", "store"):
                bench(f"xray_burst_stage_{stage}_p50_ms",
                      statistics.median(r["reading"]["timings"][f"{stage}_ms"] for r in finished), "ms")

            real = real_model_phase(api, token, samples, args)

    missed = [name for name, limit in TARGETS.items()
              if (name == "xray_cold_s" and e2e_s(cold) > limit) or (name == "xray_e2e_p95_s" and pct(latencies, 95) > limit)]
    if throughput < THROUGHPUT_TARGET:
        missed.append("xray_throughput_per_s")
    missed += [name for name, limit in REAL_TARGETS.items() if real[name] > limit]
    if real["xray_real_throughput_per_s"] < REAL_THROUGHPUT_TARGET:
        missed.append("xray_real_throughput_per_s")
    if missed:
        print(f"# targets missed: {', '.join(missed)}", file=sys.stderr)
        return 1 if args.strict else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
