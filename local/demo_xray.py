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
from chalicelib.services.xray.studies import XrayStudies
from local.api_client import authenticated
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


def _submit(center: Any, name: str, data: bytes) -> tuple[str, float]:
    from golden_time_api_client.api.xray import create_study
    from golden_time_api_client.models import StudyCreate

    created = create_study.sync(client=center, body=StudyCreate(filename=name))  # raises unless 201
    form = created.upload
    started = time.monotonic()
    # the presigned POST goes to S3, not to the API
    requests.post(form.url, data=form.fields.to_dict(), files={"file": (name, data)}, timeout=30).raise_for_status()
    return str(created.study_id), started


def _wait(center: Any, study_id: str, timeout_s: float = 30) -> Any:
    from golden_time_api_client.api.xray import get_study

    deadline = time.monotonic() + timeout_s
    while True:
        study = get_study.sync(study_id, client=center)
        if study.status.value != "pending" or time.monotonic() > deadline:
            return study
        time.sleep(0.05)


def run(platform: LocalPlatform, tokens: dict[str, str], resources: Resources) -> list[tuple[str, str]]:
    # the center calls the API through the typed client generated from openapi.json
    center = authenticated(platform.api_url, tokens["hc-jongno"])
    files, origin = _demo_files()
    print(f"\n== X-ray AI reading (hc-jongno, {origin}) " + "=" * 20)
    summary: list[tuple[str, str]] = []
    seconds: list[float] = []
    for name, data in files:
        study_id, started = _submit(center, name, data)
        study = _wait(center, study_id)
        elapsed = time.monotonic() - started
        if study.status.value != "done":
            print(f"  {name}: {study.status.value} {study.reason.to_dict() if study.reason else None}")
            summary.append((f"x-ray {name[:20]}", f"{study.status.value}"))
            continue
        seconds.append(elapsed)
        reading = study.reading
        model = reading.model
        label = "NON-CLINICAL reference model" if not model.clinical else "clinical model"
        print(f"  {name[:40]} → study {study_id}: {study.status.value} in {elapsed:.2f} s  "
              f"[{model.name} {model.version}, {label}]")
        print(f"    image {reading.image.format_} {reading.image.width}×{reading.image.height}, "
              f"triage {reading.triage.value.upper()}")
        for finding in reading.findings:
            decision = "POSITIVE" if finding.positive else "negative"
            print(f"    {finding.label:20} score {finding.score:.3f} (threshold {finding.threshold:.2f}) {decision}")
        t = reading.timings.to_dict()
        print("    timings ms: " + ", ".join(f"{k.removesuffix('_ms')} {t[k]:.0f}" for k in (
            "queue_wait_ms", "fetch_ms", "decode_ms", "preprocess_ms", "inference_ms", "heatmap_ms", "total_ms")))
        deadline = time.monotonic() + 10  # the heat map is the step after the reading
        while study.links.heatmap is None and time.monotonic() < deadline:
            time.sleep(0.1)
            study = _wait(center, study_id)
        # the heat map and the report are presigned S3 links, not the API
        heatmap = requests.get(study.links.heatmap, timeout=10) if study.links.heatmap else None
        print(f"    heatmap ({study.reading.heatmap_method}) "
              f"{heatmap.status_code if heatmap else 'not yet'} {len(heatmap.content) if heatmap else 0} bytes PNG, report "
              f"{requests.get(study.links.report, timeout=10).status_code} (presigned links, "
              f"{study.links.expires_in_s} s)")
        stored = XrayStudies(resources.table("records"), resources.store("xray")).get(study_id).reading
        if stored is not None and stored.deid_key:  # the copy's key stays inside: the stored record has it
            import pydicom

            original = pydicom.dcmread(io.BytesIO(data))
            clean = pydicom.dcmread(io.BytesIO(resources.store("xray").get(stored.deid_key)))
            leaked = str(original.PatientName).encode() in resources.store("xray").get(stored.deid_key)
            print(f"    de-identified copy: PatientIdentityRemoved={clean.PatientIdentityRemoved}, "
                  f"PatientName now {clean.PatientName!s}, original name present: {leaked}")
            summary.append(("x-ray DICOM de-identified", f"PatientIdentityRemoved={clean.PatientIdentityRemoved}, "
                                                          f"name leaked: {leaked}"))
    summary.append(("x-ray readings", f"{len(seconds)}/{len(files)} done, upload → reading "
                                      + ", ".join(f"{s:.2f} s" for s in seconds)))
    study_id, _ = _submit(center, "holiday.jpg", _colour_photo())
    rejected = _wait(center, study_id)
    code, message = (rejected.reason.code, rejected.reason.message) if rejected.reason else (None, None)
    print(f"  holiday.jpg (a colour photo) → {rejected.status.value}: {code} — {message}")
    summary.append(("x-ray colour photo", f"{rejected.status.value} ({code})"))
    return summary
