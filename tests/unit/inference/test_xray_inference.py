"""Manifest rules, pure pre/post-processing and the reference model (no network, no AWS)."""

from __future__ import annotations

import numpy as np
import onnxruntime as ort
import pytest
from pydantic import ValidationError
from xray_support import manifest_rules_tensor, synthetic_chest, third_party_model

from chalicelib.inference import Activation, Classifier, findings, preprocess, triage
from chalicelib.inference.manifest import FixedRange, ModelManifest
from chalicelib.inference.postprocess import activate
from chalicelib.inference.reference_model import build
from chalicelib.inference.registry import choose_providers


@pytest.fixture(scope="module")
def reference():
    manifest, model = build()
    return Classifier(manifest, ort.InferenceSession(model, providers=["CPUExecutionProvider"]))


def test_the_reference_model_is_labelled_non_clinical_and_hashes_to_its_manifest(reference):
    manifest, model = build()
    assert manifest.clinical is False
    assert "NON-CLINICAL" in manifest.description
    import hashlib

    assert hashlib.sha256(model).hexdigest() == manifest.sha256
    assert build()[1] == model  # deterministic build


def test_reference_scores_are_deterministic_and_one_batch_equals_single_runs(reference):
    images = [synthetic_chest(512, seed=s) for s in range(4)]
    batched = reference.predict(images).scores
    singles = np.concatenate([reference.predict([image]).scores for image in images])
    assert batched.shape == (4, 3)
    np.testing.assert_allclose(batched, singles, atol=1e-6)
    np.testing.assert_array_equal(reference.predict(images).scores, batched)
    assert ((batched > 0) & (batched < 1)).all()


def test_brighter_lung_fields_raise_the_reference_opacity_score(reference):
    clear = synthetic_chest(512, seed=0)
    hazy = clear.copy()
    hazy[int(0.25 * 512):int(0.7 * 512), int(0.15 * 512):int(0.45 * 512)] += 0.3
    scores = reference.predict([clear, np.clip(hazy, 0, 1)]).scores
    assert scores[1, 0] > scores[0, 0] + 0.1  # opacity
    assert scores[1, 1] > scores[0, 1]  # one-sided: asymmetry too


def test_occlusion_heatmap_points_at_the_region_that_drives_the_score(reference):
    hazy = synthetic_chest(512, seed=0)
    hazy[180:330, 90:220] = 0.95  # a bright patch in the right lung (image left)
    tensor = preprocess(hazy, reference.manifest)
    heat = reference.occlusion(tensor, 0, grid=7)
    assert heat.shape == (7, 7)
    assert heat.max() == pytest.approx(1.0)
    row, col = np.unravel_index(np.argmax(heat), heat.shape)
    assert 2 <= row <= 4
    assert col <= 3


def test_preprocess_follows_layout_channels_and_mean_std():
    manifest, _ = build()
    grey = np.linspace(0, 1, 224 * 224, dtype=np.float32).reshape(224, 224)
    tensor = preprocess(grey, manifest)
    assert tensor.shape == (1, 224, 224)
    np.testing.assert_allclose(tensor[0], (grey - 0.5) / 0.25, atol=1e-4)


def test_preprocess_fixed_range_nhwc_three_channels_matches_the_written_out_rules():
    manifest, _ = third_party_model()
    grey = synthetic_chest(333, seed=5)
    tensor = preprocess(grey, manifest)
    assert tensor.shape == (160, 160, 3)
    np.testing.assert_allclose(tensor[None], manifest_rules_tensor(grey, (160, 160), -1024, 1024), atol=1e-3)
    black, white = preprocess(np.zeros((160, 160), np.float32), manifest), preprocess(np.ones((160, 160), np.float32), manifest)
    assert black.min() == pytest.approx(-1024)
    assert white.max() == pytest.approx(1024)


def test_activation_and_triage_follow_the_manifest():
    manifest, _ = build()
    np.testing.assert_allclose(activate(np.array([[0.0, 100.0]], np.float32), Activation.SIGMOID), [[0.5, 1.0]])
    np.testing.assert_allclose(activate(np.array([[1.0, 1.0]], np.float32), Activation.SOFTMAX), [[0.5, 0.5]])
    assert triage(findings(np.array([0.1, 0.2, 0.3], np.float32), manifest)) == "normal"
    assert triage(findings(np.array([0.6, 0.2, 0.3], np.float32), manifest)) == "abnormal"
    assert triage(findings(np.array([0.95, 0.2, 0.3], np.float32), manifest)) == "urgent"  # opacity urgent at 0.9
    scored = findings(np.array([0.5, 0.49, 0.0], np.float32), manifest)
    assert [f.positive for f in scored] == [True, False, False]  # threshold inclusive


@pytest.mark.parametrize("change", [
    {"normalisation": {"kind": "mean_std", "std": [0.0]}},
    {"normalisation": {"kind": "range", "low": 5, "high": 1}},
    {"labels": [{"name": "a", "threshold": 0.5}, {"name": "a", "threshold": 0.4}]},
    {"size": (8, 8)},
    {"normalisation": {"kind": "mean_std", "mean": [0.1, 0.2], "std": [1.0]}},
])
def test_invalid_manifests_are_refused(change):
    manifest, _ = build()
    with pytest.raises((ValidationError, ValueError)):
        ModelManifest.model_validate({**manifest.model_dump(), **change})


def test_fixed_range_parses_from_json():
    manifest, _ = third_party_model()
    again = ModelManifest.model_validate_json(manifest.model_dump_json())
    assert isinstance(again.normalisation, FixedRange)
    assert again == manifest


def test_provider_choice_prefers_cuda_only_when_available():
    preferred = ("CUDAExecutionProvider", "CPUExecutionProvider")
    assert choose_providers(preferred, ["CPUExecutionProvider"]) == ["CPUExecutionProvider"]
    assert choose_providers(preferred, ["CUDAExecutionProvider", "CPUExecutionProvider"]) == list(preferred)
    assert choose_providers(("TensorrtExecutionProvider",), ["CPUExecutionProvider"]) == ["CPUExecutionProvider"]
