"""Model inference: manifests, the registry (S3 prefix), pure pre/post-processing, the ONNX classifier.

Interface: ``ModelRegistry(store).load_active(task)`` → ``Classifier`` with ``predict(images)``
(one batched run) and ``occlusion(tensor, label)``; ``preprocess`` / ``findings`` / ``triage`` are
pure functions of the manifest.
"""

from chalicelib.inference.classifier import Classifier, Prediction
from chalicelib.inference.manifest import (
    Activation,
    ClassActivation,
    Colour,
    Fit,
    FixedRange,
    LabelSpec,
    Layout,
    MeanStd,
    ModelManifest,
    Resize,
    manifest_schema,
)
from chalicelib.inference.postprocess import FindingScore, findings, triage
from chalicelib.inference.preprocess import preprocess, stack
from chalicelib.inference.registry import ModelError, ModelIntegrityError, ModelRegistry

__all__ = [
    "Activation",
    "ClassActivation",
    "Classifier",
    "Colour",
    "FindingScore",
    "Fit",
    "FixedRange",
    "LabelSpec",
    "Layout",
    "MeanStd",
    "ModelError",
    "ModelIntegrityError",
    "ModelManifest",
    "ModelRegistry",
    "Prediction",
    "Resize",
    "findings",
    "manifest_schema",
    "preprocess",
    "stack",
    "triage",
]
