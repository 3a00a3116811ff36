"""The model registry: ``models/<name>/<version>/{model.onnx,manifest.json}`` in the models bucket.

``register`` stores a model with its hash; ``activate`` points a task (e.g. ``xray``,
``video-detector``) at a version via ``models/active/<task>.json``. :class:`ManifestRegistry` does
this for any manifest type (the video models use it too); :class:`ModelRegistry`'s ``load``
fetches, verifies the sha256, creates the ``onnxruntime`` session with the manifest's preferred
providers that are available (CUDA when present, CPU otherwise) and warms it up.
Sessions are cached per process (one per container).
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from pathlib import Path
from typing import Any, TypeVar

from pydantic import ValidationError

from chalicelib.errors import ObjectMissing, PermanentError
from chalicelib.inference.classifier import Classifier
from chalicelib.inference.manifest import ModelManifest, RegisteredManifest
from chalicelib.ports import ObjectStore

logger = logging.getLogger(__name__)
PREFIX = "models"
M = TypeVar("M", bound=RegisteredManifest)
ACTIVE_HISTORY = 10  # earlier active versions kept per task, for rollback


class ModelError(PermanentError):
    """The registry holds no usable model: missing, corrupt manifest or a hash mismatch."""


class ModelIntegrityError(ModelError):
    """model.onnx does not hash to the manifest's sha256."""


_lock = threading.Lock()
_loaded: dict[tuple[str, str, str], Classifier] = {}


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def choose_providers(preferred: tuple[str, ...], available: list[str]) -> list[str]:
    chosen = [p for p in preferred if p in available]
    return chosen or ["CPUExecutionProvider"]


class ManifestRegistry[M: RegisteredManifest]:
    """Register, activate and fetch verified models of one manifest type (classifiers, video models)."""

    def __init__(self, store: ObjectStore, manifest_type: type[M], prefix: str = PREFIX) -> None:
        self._store = store
        self._manifest_type = manifest_type
        self._prefix = prefix.rstrip("/")

    @property
    def store_name(self) -> str:
        return self._store.name

    def _key(self, name: str, version: str, leaf: str) -> str:
        return f"{self._prefix}/{name}/{version}/{leaf}"

    def register(self, manifest: M, model: bytes) -> M:
        """Store ``model`` with its manifest; the manifest's sha256 must match the bytes."""
        if sha256_hex(model) != manifest.sha256:
            raise ModelIntegrityError(f"{manifest.ref}: manifest sha256 does not match the model bytes")
        self._store.put(self._key(manifest.name, manifest.version, "model.onnx"), model)
        self._store.put(self._key(manifest.name, manifest.version, "manifest.json"),
                        manifest.model_dump_json(indent=2).encode(), content_type="application/json")
        return manifest

    def activate(self, task: str, name: str, version: str) -> None:
        """Point ``task`` at a registered version; the versions it replaces are kept for ``rollback``."""
        self.manifest(name, version)  # refuses an unknown model
        current = self._pointer(task)
        history = [] if current is None else [{"name": current["name"], "version": current["version"]},
                                              *current.get("history", [])][:ACTIVE_HISTORY]
        self._write_pointer(task, name, version, history)

    def rollback(self, task: str) -> tuple[str, str]:
        """Point ``task`` back at the version active before the current one; returns it."""
        current = self._pointer(task)
        if current is None or not current.get("history"):
            raise ModelError(f"task {task!r} has no earlier active version to roll back to")
        previous, *older = current["history"]
        self.manifest(previous["name"], previous["version"])
        self._write_pointer(task, previous["name"], previous["version"], older)
        return str(previous["name"]), str(previous["version"])

    def active(self, task: str) -> tuple[str, str] | None:
        pointer = self._pointer(task)
        return None if pointer is None else (str(pointer["name"]), str(pointer["version"]))

    def active_tasks(self) -> dict[str, tuple[str, str]]:
        """Every task's active (name, version)."""
        tasks = [key.rsplit("/", 1)[-1].removesuffix(".json") for key in self._store.keys(f"{self._prefix}/active/")]
        return {task: pointer for task in sorted(tasks) if (pointer := self.active(task)) is not None}

    def registered(self) -> list[tuple[str, str]]:
        """Every registered (name, version)."""
        found = []
        for key in self._store.keys(f"{self._prefix}/"):
            parts = key[len(self._prefix) + 1:].split("/")
            if len(parts) == 3 and parts[2] == "manifest.json":
                found.append((parts[0], parts[1]))
        return sorted(found)

    def _pointer(self, task: str) -> dict[str, Any] | None:
        try:
            pointer: dict[str, Any] = json.loads(self._store.get(f"{self._prefix}/active/{task}.json"))
        except ObjectMissing:
            return None
        return pointer

    def _write_pointer(self, task: str, name: str, version: str, history: list[dict[str, str]]) -> None:
        self._store.put(f"{self._prefix}/active/{task}.json",
                        json.dumps({"name": name, "version": version, "history": history}).encode(),
                        content_type="application/json")

    def manifest(self, name: str, version: str) -> M:
        try:
            raw = self._store.get(self._key(name, version, "manifest.json"))
        except ObjectMissing as exc:
            raise ModelError(f"no model {name}/{version} in the registry") from exc
        try:
            return self._manifest_type.model_validate_json(raw)
        except ValidationError as exc:
            raise ModelError(f"manifest of {name}/{version} is invalid: {exc}") from exc

    def verified_model(self, manifest: M) -> bytes:
        """model.onnx of a manifest, refused unless it hashes to the manifest's sha256."""
        try:
            model = self._store.get(self._key(manifest.name, manifest.version, "model.onnx"))
        except ObjectMissing as exc:
            raise ModelError(f"{manifest.ref}: model.onnx is missing") from exc
        if sha256_hex(model) != manifest.sha256:
            raise ModelIntegrityError(f"{manifest.ref}: model.onnx does not match the manifest's sha256")
        return model


class ModelRegistry(ManifestRegistry[ModelManifest]):
    """The classifier registry (X-ray reading): loads verified, warmed classifiers."""

    def __init__(self, store: ObjectStore, prefix: str = PREFIX) -> None:
        super().__init__(store, ModelManifest, prefix)

    def load(self, name: str, version: str) -> Classifier:
        """The verified, warmed classifier; built once per process for each (name, version, hash)."""
        manifest = self.manifest(name, version)
        cache_key = (name, version, manifest.sha256)
        with _lock:
            found = _loaded.get(cache_key)
            if found is not None:
                return found
            model = self.verified_model(manifest)
            classifier = Classifier(manifest, open_session(model, preferred=manifest.providers),
                                    cam_weights=cam_weights(model, manifest))
            classifier.warm_up()
            _loaded[cache_key] = classifier
            logger.info("model loaded", extra={"model": manifest.ref, "providers": classifier.providers})
            return classifier

    def load_active(self, task: str) -> Classifier:
        pointer = self.active(task)
        if pointer is None:
            raise ModelError(f"no active model for task {task!r}")
        return self.load(*pointer)


def cam_weights(model: bytes, manifest: ModelManifest) -> Any:
    """The final linear layer's weights as (labels, K), read from the model's initializers, when the manifest
    asks for class activation maps; None otherwise (heat maps then come from occlusion)."""
    spec = manifest.class_activation
    if spec is None:
        return None
    import numpy as np
    import onnx
    from onnx import numpy_helper

    graph = onnx.load_from_string(model).graph
    found = next((init for init in graph.initializer if init.name == spec.weights), None)
    if found is None:
        raise ModelError(f"{manifest.ref}: class_activation.weights names no initializer {spec.weights!r}")
    weights = np.asarray(numpy_helper.to_array(found), dtype=np.float32)
    labels = len(manifest.labels)
    if weights.ndim != 2 or labels not in weights.shape:
        raise ModelError(f"{manifest.ref}: {spec.weights!r} has shape {weights.shape}, not (labels, K) or (K, labels)")
    return weights if weights.shape[0] == labels else weights.T


def open_session(model: bytes | Path, *, preferred: tuple[str, ...] = ("CUDAExecutionProvider", "CPUExecutionProvider"),
                 threads: int | None = None) -> Any:
    """An ``onnxruntime.InferenceSession`` on the preferred providers this runtime has (the one place
    sessions are made: X-ray classifier, detector, re-identification)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    if threads is not None:
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    # A search runs two sessions in turn (detector, re-id) beside a decoder thread: threads that
    # spin-wait after their session's run steal the cores the next stage needs (measured: 28 % slower).
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    try:
        return ort.InferenceSession(str(model) if isinstance(model, Path) else model, sess_options=options,
                                    providers=choose_providers(preferred, ort.get_available_providers()))
    except Exception as exc:  # onnxruntime raises its own untyped errors for a corrupt graph
        raise ModelError(f"the model could not be opened: {exc}") from exc


def forget_loaded() -> None:
    """Drop cached sessions (tests)."""
    with _lock:
        _loaded.clear()
