"""Demo step: a health center uploads chest X-rays over HTTP and gets AI readings in seconds.

``run(platform, tokens, resources)`` is wired into ``make demo`` by local/demo.py. hc-jongno uploads
the real DICOM and a PNG from ../shared/data/cxr (generated films when that folder is absent) and
a colour photo (to show a rejection), then prints each reading and checks the de-identified copy.
"""

from __future__ import annotations

import io
import time
from typing import Any

import numpy as np
import requests
from PIL import Image

from chalicelib.adapters.resources import Resources
from local.http_client import session_from
from local.platform import LocalPlatform
from local.xray_samples import png_bytes, real_images, synthetic_chest


def _demo_files() -> tuple[list[tuple[str, bytes]], str]:
    found = real_images()
    dicom = next((p for p in found if p.suffix == ".dcm"), None)
    png = next((p for p in found if p.suffix == ".png"), None)
    if dicom and png:
        return [(dicom.name, dicom.read_bytes()), (png.name, png.read_bytes())], "../shared/data/cxr"
    return [("generated-chest.png", png_bytes(synthetic_chest(512, seed=1)))], "generated film (../shared/data/cxr absent)"


def _colour_photo() -> bytes:
    y, x = np.mgrid[0:400, 0:400] / 400
    rgb = np.stack([0.3 + 0.5 * x, np.where(y > 0.5, 0.7, 0.4), np.where(y > 0.5, 0.2, 0.9)], axis=-1)
    buffer = io.BytesIO()
    Image.fromarray((rgb * 255).astype(np.uint8), mode="RGB").save(buffer, format="JPEG")
    return buffer.getvalue()


def _submit(api: str, token: str, name: str, data: bytes) -> tuple[str, float]:
    created = session_from(token=token).post(f"{api}/v1/xray/studies", json={"filename": name})
    created.raise_for_status()
    body = created.json()
    form = body["upload"]
    started = time.monotonic()
    requests.post(form["url"], data=form["fields"], files={"file": (name, data)}, timeout=30).raise_for_status()
    return str(body["study_id"]), started


def _wait(api: str, token: str, study_id: str, timeout_s: float = 30) -> dict[str, Any]:
    client = session_from(token=token)
    deadline = time.monotonic() + timeout_s
    while True:
        study: dict[str, Any] = client.get(f"{api}/v1/xray/studies/{study_id}").json()
        if study.get("status") != "pending" or time.monotonic() > deadline:
            return study
        time.sleep(0.05)


def run(platform: LocalPlatform, tokens: dict[str, str], resources: Resources) -> list[tuple[str, str]]:
    api, token = platform.api_url, tokens["hc-jongno"]
    files, origin = _demo_files()
    print(f"\n== X-ray AI reading (hc-jongno, {origin}) " + "=" * 20)
    summary: list[tuple[str, str]] = []
    seconds: list[float] = []
    for name, data in files:
        study_id, started = _submit(api, token, name, data)
        study = _wait(api, token, study_id)
        elapsed = time.monotonic() - started
        reading = study.get("reading") or {}
        if study.get("status") != "done":
            print(f"  {name}: {study.get('status')} {study.get('reason')}")
            summary.append((f"x-ray {name[:20]}", f"{study.get('status')}"))
            continue
        seconds.append(elapsed)
        model = reading["model"]
        label = "NON-CLINICAL reference model" if not model["clinical"] else "clinical model"
        print(f"  {name[:40]} → study {study_id}: {study['status']} in {elapsed:.2f} s  "
              f"[{model['name']} {model['version']}, {label}]")
        print(f"    image {reading['image']['format']} {reading['image']['width']}×{reading['image']['height']}, "
              f"triage {reading['triage'].upper()}")
        for finding in reading["findings"]:
            decision = "POSITIVE" if finding["positive"] else "negative"
            print(f"    {finding['label']:20} score {finding['score']:.3f} (threshold {finding['threshold']:.2f}) {decision}")
        t = reading["timings"]
        print("    timings ms: " + ", ".join(f"{k.removesuffix('_ms')} {t[k]:.0f}" for k in (
            "queue_wait_ms", "fetch_ms", "decode_ms", "preprocess_ms", "inference_ms", "heatmap_ms", "total_ms")))
        deadline = time.monotonic() + 10  # the heat map is the step after the reading
        while study["links"]["heatmap"] is None and time.monotonic() < deadline:
            time.sleep(0.1)
            study = _wait(api, token, study_id)
        heatmap = requests.get(study["links"]["heatmap"], timeout=10) if study["links"]["heatmap"] else None
        print(f"    heatmap ({study['reading'].get('heatmap_method')}) "
              f"{heatmap.status_code if heatmap else 'not yet'} {len(heatmap.content) if heatmap else 0} bytes PNG, report "
              f"{requests.get(study['links']['report'], timeout=10).status_code} (presigned links, "
              f"{study['links']['expires_in_s']} s)")
        if reading.get("deid_key"):
            import pydicom

            original = pydicom.dcmread(io.BytesIO(data))
            clean = pydicom.dcmread(io.BytesIO(resources.store("xray").get(reading["deid_key"])))
            leaked = str(original.PatientName).encode() in resources.store("xray").get(reading["deid_key"])
            print(f"    de-identified copy: PatientIdentityRemoved={clean.PatientIdentityRemoved}, "
                  f"PatientName now {clean.PatientName!s}, original name present: {leaked}")
            summary.append(("x-ray DICOM de-identified", f"PatientIdentityRemoved={clean.PatientIdentityRemoved}, "
                                                          f"name leaked: {leaked}"))
    summary.append(("x-ray readings", f"{len(seconds)}/{len(files)} done, upload → reading "
                                      + ", ".join(f"{s:.2f} s" for s in seconds)))
    study_id, _ = _submit(api, token, "holiday.jpg", _colour_photo())
    rejected = _wait(api, token, study_id)
    reason = rejected.get("reason") or {}
    print(f"  holiday.jpg (a colour photo) → {rejected.get('status')}: {reason.get('code')} — {reason.get('message')}")
    summary.append(("x-ray colour photo", f"{rejected.get('status')} ({reason.get('code')})"))
    return summary
