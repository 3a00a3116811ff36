"""Helpers for the DICOM-results tests: a settled study with a reading, its de-identified source image, and
the independent validator (dicom3tools' ``dciodvfy``)."""

from __future__ import annotations

import io
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom import Dataset
from xray_support import dicom_bytes

from chalicelib.imaging.deid import deidentify_dicom
from chalicelib.models.xray import (
    Finding,
    ImageInfo,
    ModelInfo,
    Reading,
    SourceObject,
    Study,
    StudyStatus,
    Timings,
    Triage,
)
from chalicelib.services.xray.reader import overlay_png
from local.xray_samples import synthetic_chest


def deidentified_source(seed: int = 0) -> bytes:
    """A CR chest image with a patient, de-identified as the reader does it."""
    deid = deidentify_dicom(pydicom.dcmread(io.BytesIO(dicom_bytes(synthetic_chest(256, seed=seed)))),
                            uid_salt="test-salt", pseudonym=f"study-{seed}")
    assert deid.data is not None
    return deid.data


def settled_study(study_id: str = "st-1", center_id: str = "center-1", *, clinical: bool = False,
                  completed_ms: int = 1_790_000_000_000) -> Study:
    timings = Timings(queue_wait_ms=1, fetch_ms=1, decode_ms=1, quality_ms=1, preprocess_ms=1, inference_ms=1,
                      heatmap_ms=0, store_ms=1, total_ms=8, batch_size=1)
    reading = Reading(
        model=ModelInfo(name="gt-reference-cxr", version="1.0.0", clinical=clinical),
        findings=[Finding(label="opacity", score=0.91, threshold=0.5, positive=True),
                  Finding(label="asymmetry", score=0.12, threshold=0.5, positive=False),
                  Finding(label="cardiac_silhouette", score=0.55, threshold=0.5, positive=True)],
        triage=Triage.URGENT,
        image=ImageInfo(format="dicom", width=256, height=256, bits=8, photometric="MONOCHROME2"),
        report_key=f"reports/{center_id}/{study_id}/report.json", deid_key=f"deid/{center_id}/{study_id}/image.dcm",
        timings=timings, completed_ms=completed_ms)
    return Study(study_id=study_id, center_id=center_id, status=StudyStatus.DONE,
                 upload_key=f"uploads/{center_id}/{study_id}/image.dcm", created_ms=completed_ms - 5000,
                 updated_ms=completed_ms, deadline_ms=completed_ms + 60_000, reading=reading,
                 source=SourceObject(bucket="b", key=f"uploads/{center_id}/{study_id}/image.dcm", etag="e"))


def heatmap_png(seed: int = 0) -> bytes:
    pixels = synthetic_chest(256, seed=seed)
    y, x = np.mgrid[0:8, 0:8] / 8
    return overlay_png(pixels, np.exp(-((x - 0.3) ** 2 + (y - 0.4) ** 2) * 8).astype(np.float32))


def dataset_bytes(dataset: Dataset) -> bytes:
    buffer = io.BytesIO()
    dataset.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


def dciodvfy(data: bytes, tmp_path: Path) -> tuple[list[str], str]:
    """The validator's "Error" lines (empty when the object is valid) and its full output."""
    tool = shutil.which("dciodvfy")
    if tool is None:
        pytest.skip("dciodvfy (Debian dicom3tools) is not installed: run `make system-deps`")
    path = tmp_path / "object.dcm"
    path.write_bytes(data)
    done = subprocess.run([tool, "-new", str(path)], capture_output=True, text=True, timeout=60, check=False)
    output = done.stdout + done.stderr
    return [line for line in output.splitlines() if line.startswith("Error")], output
