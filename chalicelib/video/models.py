"""The video models — people detector (YOLOX) and re-identification (OSNet) — from the model registry.

Registered like the X-ray classifier: ``models/<name>/<version>/{model.onnx,manifest.json}`` with a
sha256 checked before loading, and one active model per role (``models/active/video-detector.json``,
``models/active/video-reid.json``). :func:`register_video_models` (``make admin ARGS="models
register-video"``) stores the files of a directory; YOLOX is first given a dynamic input (batch,
height and width symbolic — the network is fully convolutional) so frames run at their own aspect
ratio and several frames run as one batch.

:func:`load_video_model` opens a session for a role from, in order:
  1. the registry's active model for the role (verified against its manifest),
  2. in development only, ``../shared/models`` beside the repository (prepared in-process the same way),
or gives ``None``: callers then fall back to the classical detector / colour histograms, and say so.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import Field

from chalicelib.inference.manifest import RegisteredManifest
from chalicelib.inference.registry import ManifestRegistry, ModelError, open_session, sha256_hex
from chalicelib.ports import ObjectStore

logger = logging.getLogger(__name__)

SHARED_MODELS = Path(__file__).resolve().parents[2].parent / "shared" / "models"
Role = Literal["detector", "reid"]
Family = Literal["yolox", "osnet"]


@dataclass(frozen=True)
class VideoModelSpec:
    """One role's model: the registry task it is active under, and the file it is registered from."""

    role: Role
    family: Family
    task: str
    name: str
    file: str


DETECTOR = VideoModelSpec("detector", "yolox", "video-detector", "yolox-nano-coco", "yolox_nano_coco.onnx")
REID = VideoModelSpec("reid", "osnet", "video-reid", "osnet-x0-25-msmt17", "osnet_x0_25_msmt17.onnx")
SPECS = (DETECTOR, REID)


class VideoModelManifest(RegisteredManifest):
    role: Role
    family: Family
    dynamic_input: bool = Field(False, description="Input batch, height and width are symbolic (any stride multiple).")
    source: str = Field("", max_length=200, description="The file the model was registered from.")


def video_registry(store: ObjectStore) -> ManifestRegistry[VideoModelManifest]:
    return ManifestRegistry(store, VideoModelManifest)


def dynamic_input(model: bytes) -> bytes:
    """The same YOLOX graph with symbolic batch, height and width (needs ``onnx``).

    The export folded its batch of 1 into the head's reshapes (``[1, 85, -1]``); those become
    ``[0, 85, -1]`` (0: keep the input's batch), so N frames run as one batch on an accelerator.
    """
    import onnx
    from onnx import numpy_helper

    graph = onnx.load_from_string(model)
    dims = graph.graph.input[0].type.tensor_type.shape.dim
    if len(dims) != 4:
        raise ModelError(f"expected an N×C×H×W detector input, got {len(dims)} dimensions")
    # setting dim_param replaces the fixed dim_value (a oneof)
    dims[0].dim_param, dims[2].dim_param, dims[3].dim_param = "batch", "height", "width"
    for output in graph.graph.output:
        out_dims = output.type.tensor_type.shape.dim
        out_dims[0].dim_param, out_dims[1].dim_param = "batch", "anchors"
    reshape_shapes = {node.input[1] for node in graph.graph.node if node.op_type == "Reshape"}
    for index, initializer in enumerate(graph.graph.initializer):
        if initializer.name in reshape_shapes:
            shape = numpy_helper.to_array(initializer).copy()
            if shape.ndim == 1 and shape.size and shape[0] == 1:
                shape[0] = 0
                graph.graph.initializer[index].CopyFrom(numpy_helper.from_array(shape, initializer.name))
    del graph.graph.value_info[:]  # shapes inferred for the fixed size would now be wrong
    onnx.checker.check_model(graph)
    return bytes(graph.SerializeToString())


def prepare(spec: VideoModelSpec, model: bytes) -> bytes:
    return dynamic_input(model) if spec.family == "yolox" else model


def register_video_models(store: ObjectStore, directory: Path = SHARED_MODELS) -> list[VideoModelManifest]:
    """Register and activate the detector and re-id files of ``directory``; the version is the
    content hash, so registering the same files again changes nothing."""
    registry = video_registry(store)
    registered = []
    for spec in SPECS:
        path = directory / spec.file
        if not path.is_file():
            raise ModelError(f"{path} not found: the {spec.role} model cannot be registered")
        model = prepare(spec, path.read_bytes())
        digest = sha256_hex(model)
        manifest = VideoModelManifest(name=spec.name, version=digest[:12], sha256=digest, role=spec.role,
                                      family=spec.family, dynamic_input=spec.family == "yolox", source=spec.file,
                                      description=f"{spec.family} {spec.role} for search and monitoring")
        registry.register(manifest, model)
        registry.activate(spec.task, manifest.name, manifest.version)
        registered.append(manifest)
    return registered


@dataclass(frozen=True)
class LoadedModel:
    source: str  # "models/<name>/<version>" or the development file's path
    session: Any  # onnxruntime.InferenceSession


def load_video_model(spec: VideoModelSpec, *, store: ObjectStore | None = None, shared: Path | None = SHARED_MODELS,
                     threads: int | None = None) -> LoadedModel | None:
    """A ready session for the role's model, or ``None`` when none is registered or shipped."""
    if store is not None:
        registry = video_registry(store)
        pointer = registry.active(spec.task)
        if pointer is not None:
            manifest = registry.manifest(*pointer)
            if manifest.role != spec.role:
                raise ModelError(f"{manifest.ref} is a {manifest.role} model, active as the {spec.role}")
            session = open_session(registry.verified_model(manifest), threads=threads, preferred=manifest.providers)
            logger.info("video model loaded", extra={"model": manifest.ref, "providers": session.get_providers()})
            return LoadedModel(f"models/{manifest.ref}", session)
    if shared is not None and (shared / spec.file).is_file():
        return LoadedModel(str(shared / spec.file), open_session(_development_model(spec, shared / spec.file),
                                                                 threads=threads))
    logger.warning("no %s model registered; the classical fallback will be used", spec.role)
    return None


def _development_model(spec: VideoModelSpec, path: Path) -> bytes:
    model = path.read_bytes()
    try:
        return prepare(spec, model)
    except ImportError:  # onnx is a development/deployment tool; without it the fixed input still works
        return model
