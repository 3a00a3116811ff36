"""The model registry on S3 (moto): register, activate, verify the hash, one session per container."""

from __future__ import annotations

import pytest

from chalicelib.inference.reference_model import NAME, VERSION, build, ensure_reference_model
from chalicelib.inference.registry import ModelError, ModelIntegrityError, ModelRegistry, forget_loaded


@pytest.fixture
def registry(aws):
    forget_loaded()
    yield ModelRegistry(aws.store("models"))
    forget_loaded()


def test_the_reference_model_is_registered_once_and_made_active(registry, aws):
    ensure_reference_model(registry)
    ensure_reference_model(registry)
    keys = sorted(aws.store("models").keys("models/"))
    assert keys == ["models/active/xray.json", f"models/{NAME}/{VERSION}/manifest.json", f"models/{NAME}/{VERSION}/model.onnx"]
    assert registry.active("xray") == (NAME, VERSION)


def test_loading_verifies_the_hash_and_builds_the_session_once(registry, aws):
    ensure_reference_model(registry)
    first = registry.load_active("xray")
    assert registry.load_active("xray") is first
    assert first.providers == ["CPUExecutionProvider"]  # no CUDA here; CUDA first where available
    # GIVEN the stored model is tampered with
    forget_loaded()
    aws.store("models").put(f"models/{NAME}/{VERSION}/model.onnx", build()[1] + b"\x00")
    with pytest.raises(ModelIntegrityError, match="sha256"):
        registry.load(NAME, VERSION)


def test_registering_with_a_wrong_hash_or_activating_an_unknown_model_is_refused(registry):
    manifest, model = build()
    with pytest.raises(ModelIntegrityError):
        registry.register(manifest, model + b"x")
    with pytest.raises(ModelError, match="no model"):
        registry.activate("xray", "nope", "1.0")
    assert registry.active("xray") is None


def test_the_deploy_step_registers_and_activates_the_reference_model(registry, capsys):
    from chalicelib.cli import main

    assert main(["models", "register-reference"]) == 0
    assert registry.active("xray") == (NAME, VERSION)
    assert "clinical=False" in capsys.readouterr().out
