"""A third-party-shaped classifier registered through the admin CLI reads real films through the upload path
with the scores a direct onnxruntime run gives on the same files (the model's own preprocessing, written
the way its authors would: Pillow, nearest neighbour, grey × 3, x / 127.5 − 1, NHWC)."""

from __future__ import annotations

import json
import time
from typing import Any

import numpy as np
import onnxruntime as ort
import pydicom
import pytest
import requests
from client_support import authenticated
from golden_time_api_client.api.xray import create_study, get_study
from golden_time_api_client.models import StudyCreate, StudyStatus
from PIL import Image

from chalicelib import cli
from chalicelib.adapters.resources import Resources
from chalicelib.inference.reference_model import NAME, TASK, VERSION, ensure_reference_model
from chalicelib.inference.registry import ModelRegistry
from chalicelib.models.principal import PrincipalKind
from chalicelib.settings import get_settings
from functions.xray_reader import handler
from local.standin_models import third_party_small
from local.xray_samples import real_images

pytestmark = [pytest.mark.e2e, pytest.mark.shared]


def authors_input(path: Any) -> np.ndarray:
    """The model's input as its authors prepare it: 8-bit grey film → nearest 150×150 → x/127.5 − 1 → 3 channels."""
    if path.suffix == ".dcm":
        grey = Image.fromarray(pydicom.dcmread(path).pixel_array.astype(np.uint8), mode="L")
    else:
        grey = Image.open(path).convert("L")
    x = np.asarray(grey.resize((150, 150), Image.Resampling.NEAREST), dtype=np.float32) / 127.5 - 1.0
    return np.repeat(x[:, :, None], 3, axis=-1)


@pytest.fixture
def third_party(local_platform, tmp_path):
    model, manifest = third_party_small()
    (tmp_path / "model.onnx").write_bytes(model)
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    yield model, manifest, tmp_path
    # the other e2e tests of this worker expect the reference model back
    registry = ModelRegistry(Resources(get_settings()).store("models"))
    ensure_reference_model(registry)
    registry.activate(TASK, NAME, VERSION)
    handler.runtime.cache_clear()


def test_a_registered_third_party_model_gives_its_own_scores_through_the_upload_path(local_platform, third_party,
                                                                                    capsys):
    model, manifest, folder = third_party
    films = [p for p in real_images() if p.suffix in {".png", ".jpg", ".dcm"}]
    if not films:
        pytest.skip("../shared/data/cxr is absent")
    # GIVEN the model registered and activated with the admin CLI, from its two files
    assert cli.main(["models", "register", "--model", str(folder / "model.onnx"),
                     "--manifest", str(folder / "manifest.json"), "--activate"]) == 0
    assert f"{manifest['name']}/1.0.0" in capsys.readouterr().out
    handler.runtime.cache_clear()  # a fresh container: it loads the active model
    _, token = cli.create_principal(PrincipalKind.HEALTH_CENTER, "e2e-hc-thirdparty", principal_id="e2e-hc-thirdparty",
                                    resources=Resources(get_settings()))
    center = authenticated(local_platform.api_url, token)
    # WHEN every real film is uploaded through the presigned POST (S3's URL: not our API)
    studies = {}
    for path in films:
        created = create_study.sync(client=center, body=StudyCreate(filename=path.name))
        form = created.upload
        requests.post(form.url, data=form.fields.to_dict(), files={"file": (path.name, path.read_bytes())},
                      timeout=30).raise_for_status()
        studies[created.study_id] = path
    # THEN each reading is the model's and its scores equal a direct onnxruntime run on the same file
    session = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
    for study_id, path in studies.items():
        study = _wait(center, study_id)
        assert study.status == StudyStatus.DONE, (path.name, study.to_dict())
        reading = study.reading
        assert (reading.model.name, reading.model.version) == (manifest["name"], "1.0.0")
        logits = session.run(["logits"], {"input_1": authors_input(path)[None]})[0][0].astype(np.float64)
        expected = 1.0 / (1.0 + np.exp(-logits))
        scores = np.array([f.score for f in reading.findings])
        assert np.abs(scores - expected).max() <= 1e-4, (path.name, scores, expected)


def _wait(center, study_id: str, timeout_s: float = 60.0):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        study = get_study.sync(study_id, client=center)
        if study.status != StudyStatus.PENDING:
            return study
        time.sleep(0.1)
    raise AssertionError(f"study {study_id} still pending")
