"""The NON-CLINICAL reference model, built from code with the ONNX helper API (no weights download).

It exists so the pipeline runs out of the box and its tests have a deterministic model. It is
NOT trained and NOT a diagnostic device: its "findings" are hand-set image statistics.

Network (input ``image`` float32 [N, 1, 224, 224], NCHW, grey normalised (p/255 - 0.5) / 0.25):
4×4 AveragePool → 3×3 box-blur Conv → 7×7 AveragePool → an 8×8 grid of zone means → fixed 8×8 Conv read-outs:
``opacity`` = mean brightness of the lung zones, ``asymmetry`` = |left lung − right lung|,
``cardiac_silhouette`` = brightness of the zones beside the heart borders; then a gain and bias
give logits (the manifest says ``sigmoid``).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from chalicelib.inference.manifest import LabelSpec, MeanStd, ModelManifest
from chalicelib.inference.registry import ModelError, ModelRegistry, sha256_hex

NAME = "gt-reference-cxr"
VERSION = "1.0.0"
TASK = "xray"
SIZE = 224
GRID = 8


def _masks() -> tuple[NDArray[np.float32], NDArray[np.float32]]:
    lungs_left = np.zeros((GRID, GRID), np.float32)
    lungs_left[2:6, 1:3] = 1
    lungs_right = np.fliplr(lungs_left).copy()
    opacity = (lungs_left + lungs_right) / (lungs_left + lungs_right).sum()
    heart = np.zeros((GRID, GRID), np.float32)
    heart[4:7, 2] = heart[4:7, 5] = 1
    heart /= heart.sum()
    asym = (lungs_left - lungs_right) / lungs_left.sum()
    linear = np.stack([opacity, heart])[:, None]  # [2, 1, 8, 8]
    return linear.astype(np.float32), asym[None, None].astype(np.float32)  # [1, 1, 8, 8]


def build_model() -> bytes:
    try:
        import onnx
        from onnx import TensorProto, helper, numpy_helper
    except ImportError as exc:  # onnx is a development dependency; deployments register the model at deploy time
        raise ModelError("the reference model cannot be built here (the onnx package is not installed); "
                         "register a model with `python -m chalicelib.cli models register-reference`") from exc

    linear, asym = _masks()
    inits = [
        numpy_helper.from_array(np.full((1, 1, 3, 3), 1 / 9, np.float32), "blur_w"),
        numpy_helper.from_array(linear, "readout_w"),
        numpy_helper.from_array(asym, "asym_w"),
        numpy_helper.from_array(np.array([4.0, 4.0, 4.0], np.float32).reshape(1, 3), "gain"),
        numpy_helper.from_array(np.array([0.0, -2.0, -2.5], np.float32).reshape(1, 3), "bias"),
    ]
    nodes = [
        helper.make_node("AveragePool", ["image"], ["coarse"], kernel_shape=[4, 4], strides=[4, 4], name="coarse"),
        helper.make_node("Conv", ["coarse", "blur_w"], ["blurred"], pads=[1, 1, 1, 1], name="blur"),
        helper.make_node("AveragePool", ["blurred"], ["zones"], kernel_shape=[SIZE // GRID // 4] * 2,
                         strides=[SIZE // GRID // 4] * 2, name="zones"),
        helper.make_node("Conv", ["zones", "readout_w"], ["linear"], name="readout"),  # [N, 2, 1, 1]
        helper.make_node("Conv", ["zones", "asym_w"], ["asym_signed"], name="asym"),  # [N, 1, 1, 1]
        helper.make_node("Abs", ["asym_signed"], ["asym_abs"]),
        helper.make_node("Split", ["linear"], ["opacity", "heart"], axis=1, num_outputs=2),
        helper.make_node("Concat", ["opacity", "asym_abs", "heart"], ["features"], axis=1),
        helper.make_node("Flatten", ["features"], ["flat"], axis=1),
        helper.make_node("Mul", ["flat", "gain"], ["scaled"]),
        helper.make_node("Add", ["scaled", "bias"], ["logits"]),
    ]
    graph = helper.make_graph(
        nodes, "gt_reference_cxr",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["N", 1, SIZE, SIZE])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", 3])], initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)], producer_name="golden-time",
                              doc_string="NON-CLINICAL reference model: hand-set image statistics, not trained.")
    model.ir_version = 8
    onnx.checker.check_model(model)
    return bytes(model.SerializeToString())


def build() -> tuple[ModelManifest, bytes]:
    model = build_model()
    manifest = ModelManifest(
        name=NAME, version=VERSION, sha256=sha256_hex(model), clinical=False,
        description="NON-CLINICAL reference model built by the project from fixed weights so the pipeline runs out "
                    "of the box. Not trained, not validated: never use its output for diagnosis.",
        input_name="image", layout="NCHW", size=(SIZE, SIZE), channels=1,
        normalisation=MeanStd(scale=1 / 255, mean=(0.5,), std=(0.25,)), output_name="logits", activation="sigmoid",
        labels=(
            LabelSpec(name="opacity", threshold=0.5, urgent_threshold=0.9,
                      description="reference statistic: mean brightness of the lung zones"),
            LabelSpec(name="asymmetry", threshold=0.5, urgent_threshold=0.95,
                      description="reference statistic: |left − right| lung-zone brightness"),
            LabelSpec(name="cardiac_silhouette", threshold=0.5,
                      description="reference statistic: brightness beside the heart borders"),
        ),
    )
    return manifest, model


def ensure_reference_model(registry: ModelRegistry, task: str = TASK) -> ModelManifest:
    """Register the reference model unless present, and make it the task's model when none is active.
    Idempotent; called on the reader's cold start when the registry is empty."""
    manifest, model = build()
    try:
        existing = registry.manifest(NAME, VERSION)
    except Exception:  # absent or unreadable: (re)register
        existing = None
    if existing is None or existing.sha256 != manifest.sha256:
        registry.register(manifest, model)
    if registry.active(task) is None:
        registry.activate(task, NAME, VERSION)
    return manifest
