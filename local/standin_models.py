"""Stand-in third-party X-ray classifiers built in code (development and benchmarks only; never shipped).

Neither is trained: they have the *shape* and the *cost* of real models, so the pipeline's fidelity and
speed can be proven without downloading weights.

- ``third_party_small``: shaped like a Keras export (NHWC input ``input_1`` [N, 150, 150, 3], grey
  replicated to 3 channels, x/127.5 − 1, nearest-neighbour resize), three sigmoid labels. Small and fast.
- ``realistic``: a full-size CNN (≥ 80 MB of float32 weights, tens of milliseconds per image on a CPU)
  ending in global average pooling and one linear layer, whose manifest names the last feature map and
  the linear weights so heat maps come from a class activation map.

Each returns ``(model bytes, manifest dict)``; the manifest's sha256 is the model's.
"""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np

LABELS = ("opacity", "effusion", "cardiomegaly")


def _he(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    fan_in = int(np.prod(shape[1:]))
    weights: np.ndarray = (rng.standard_normal(shape) * np.sqrt(2.0 / fan_in)).astype(np.float32)
    return weights


def _graph(name: str, input_name: str, input_shape: list[Any], layers: list[tuple[int, int, int, int]],
           nhwc: bool, seed: int, feature_output: bool) -> bytes:
    """Conv (+ReLU) stack → global average pool → linear → logits (and optionally the last feature map)."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(seed)
    nodes, inits = [], []
    current = input_name
    if nhwc:
        nodes.append(helper.make_node("Transpose", [input_name], ["nchw"], perm=[0, 3, 1, 2]))
        current = "nchw"
    for i, (cin, cout, kernel, stride) in enumerate(layers):
        w = f"conv{i}_w"
        inits += [numpy_helper.from_array(_he(rng, (cout, cin, kernel, kernel)), w),
                  numpy_helper.from_array(np.zeros(cout, np.float32), f"conv{i}_b")]
        pad = (kernel - 1) // 2 if stride == 1 else 0
        nodes.append(helper.make_node("Conv", [current, w, f"conv{i}_b"], [f"c{i}"], kernel_shape=[kernel, kernel],
                                      strides=[stride, stride], pads=[pad] * 4))
        out = "features" if i == len(layers) - 1 else f"r{i}"
        nodes.append(helper.make_node("Relu", [f"c{i}"], [out]))
        current = out
    channels = layers[-1][1]
    fc = (rng.standard_normal((len(LABELS), channels)) * 4.0 / np.sqrt(channels)).astype(np.float32)
    inits += [numpy_helper.from_array(fc, "fc_w"), numpy_helper.from_array(np.full(len(LABELS), -1.0, np.float32), "fc_b")]
    nodes += [helper.make_node("GlobalAveragePool", [current], ["pooled"]),
              helper.make_node("Flatten", ["pooled"], ["flat"], axis=1),
              helper.make_node("Gemm", ["flat", "fc_w", "fc_b"], ["logits"], transB=1)]
    outputs = [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", len(LABELS)])]
    if feature_output:
        outputs.append(helper.make_tensor_value_info("features", TensorProto.FLOAT, ["N", channels, "h", "w"]))
    graph = helper.make_graph(nodes, name, [helper.make_tensor_value_info(input_name, TensorProto.FLOAT, input_shape)],
                              outputs, initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="golden-time-standin")
    model.ir_version = 8
    onnx.checker.check_model(model)
    data: bytes = model.SerializeToString()
    return data


def _manifest(name: str, model: bytes, **fields: Any) -> dict[str, Any]:
    return {"name": name, "version": "1.0.0", "sha256": hashlib.sha256(model).hexdigest(), "clinical": False,
            "description": "Stand-in with random weights (shape and cost of a real model); NOT a diagnostic model.",
            "activation": "sigmoid", "output_name": "logits",
            "labels": [{"name": label, "threshold": 0.5, "urgent_threshold": 0.9} for label in LABELS], **fields}


def third_party_small(seed: int = 11) -> tuple[bytes, dict[str, Any]]:
    model = _graph("third_party_small", "input_1", ["N", 150, 150, 3],
                   [(3, 16, 3, 2), (16, 32, 3, 2), (32, 64, 3, 2)], nhwc=True, seed=seed, feature_output=False)
    return model, _manifest("keras-style-cxr", model, input_name="input_1", layout="NHWC", size=(150, 150),
                            colour="grey3", resize="nearest", fit="stretch",
                            normalisation={"kind": "range", "low": -1.0, "high": 1.0})


def small_with_features(seed: int = 13) -> tuple[bytes, dict[str, Any]]:
    """The small model with its last feature map as a second output: heat maps by class activation map."""
    model = _graph("small_with_features", "input_1", ["N", 150, 150, 3],
                   [(3, 16, 3, 2), (16, 32, 3, 2), (32, 64, 3, 2)], nhwc=True, seed=seed, feature_output=True)
    return model, _manifest("small-cam-cxr", model, input_name="input_1", layout="NHWC", size=(150, 150),
                            colour="grey3", resize="nearest", fit="stretch",
                            normalisation={"kind": "range", "low": -1.0, "high": 1.0},
                            class_activation={"feature_output": "features", "weights": "fc_w"})


def realistic(seed: int = 12) -> tuple[bytes, dict[str, Any]]:
    """224×224 NCHW grey3 ImageNet-normalised; 49 M parameters (≈ 197 MB); ≈ 4.8 GFLOP per image (≥ 20 ms on
    one core of the 2-core machine: the issue's realistic cost, measured on an idle machine)."""
    layers = [(3, 32, 4, 4), (32, 128, 2, 2), (128, 512, 2, 2), (512, 1024, 2, 2),
              *[(1024, 1024, 3, 1)] * 5, (1024, 512, 1, 1)]
    model = _graph("realistic_cxr", "image", ["N", 3, 224, 224], layers, nhwc=False, seed=seed, feature_output=True)
    return model, _manifest("standin-cxr-large", model, input_name="image", layout="NCHW", size=(224, 224),
                            colour="grey3", resize="bilinear", fit="center_crop",
                            normalisation={"kind": "mean_std", "mean": [0.485, 0.456, 0.406],
                                           "std": [0.229, 0.224, 0.225]},
                            class_activation={"feature_output": "features", "weights": "fc_w"})
