"""The manifest's JSON Schema and model registration from files, through the admin CLI."""

from __future__ import annotations

import json

import pytest

from chalicelib import cli
from chalicelib.inference.registry import ModelRegistry
from local.standin_models import third_party_small


def test_the_manifest_schema_is_published(capsys):
    # WHEN the admin asks for the manifest's JSON Schema
    assert cli.main(["models", "schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    # THEN it names every preprocessing rule with its allowed values and defaults
    props = schema["properties"]
    assert set(props) >= {"resize", "fit", "pad_value", "colour", "layout", "size", "normalisation",
                          "class_activation"}
    enums = {name: schema["$defs"][name]["enum"] for name in ("Resize", "Fit", "Colour")}
    assert enums == {"Resize": ["nearest", "bilinear", "bicubic", "area", "lanczos"],
                     "Fit": ["stretch", "center_crop", "letterbox"], "Colour": ["grey", "grey3", "rgb"]}
    assert (props["resize"]["default"], props["fit"]["default"]) == ("bilinear", "stretch")
    assert schema["additionalProperties"] is False


@pytest.mark.parametrize(("change", "words"), [
    ({"sha256": "0" * 64}, "sha256"),
    ({"input_name": "pixels"}, "no input"),
    ({"labels": [{"name": "only_one", "threshold": 0.5}]}, "outputs per image"),
    ({"colour": "grey", "channels": 3}, "colour grey needs 1"),
    ({"resize": "sinc"}, "resize"),
])
def test_registering_refuses_a_manifest_that_does_not_fit_its_model(aws, tmp_path, capsys, change, words):
    # GIVEN a third-party model and a manifest with one thing wrong
    model, manifest = third_party_small()
    (tmp_path / "model.onnx").write_bytes(model)
    (tmp_path / "manifest.json").write_text(json.dumps({**manifest, **change}))
    # WHEN it is registered THEN it is refused with the reason, and nothing is stored
    assert cli.main(["models", "register", "--model", str(tmp_path / "model.onnx"),
                     "--manifest", str(tmp_path / "manifest.json"), "--activate"]) == 1
    assert words in capsys.readouterr().err
    assert ModelRegistry(aws.store("models")).active("xray") is None


def test_registering_from_files_stores_and_activates(aws, tmp_path, capsys):
    model, manifest = third_party_small()
    (tmp_path / "model.onnx").write_bytes(model)
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    assert cli.main(["models", "register", "--model", str(tmp_path / "model.onnx"),
                     "--manifest", str(tmp_path / "manifest.json")]) == 0
    registry = ModelRegistry(aws.store("models"))
    assert registry.active("xray") is None  # registered, not active without --activate
    assert registry.manifest(manifest["name"], "1.0.0").resize == "nearest"
    assert cli.main(["models", "register", "--model", str(tmp_path / "model.onnx"),
                     "--manifest", str(tmp_path / "manifest.json"), "--activate"]) == 0
    assert registry.active("xray") == (manifest["name"], "1.0.0")
    assert "active for task xray" in capsys.readouterr().out
