"""Where the video models come from, and how an ONNX session is opened for them.

The detector and re-identification weights are loaded by path. :func:`resolve_model` looks in
order at: an explicit directory, the ``models`` bucket (``video/<file>``, downloaded once per
container to a temporary directory — the cloud path), and ``../shared/models`` beside the
repository (development and tests). ``None`` means "not registered": callers then fall back to the
classical detector / colour-histogram descriptor, and say so.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from chalicelib.errors import ObjectMissing
from chalicelib.ports import ObjectStore

logger = logging.getLogger(__name__)

DETECTOR_FILE = "yolox_nano_coco.onnx"
REID_FILE = "osnet_x0_25_msmt17.onnx"
BUCKET_PREFIX = "video/"
SHARED_MODELS = Path(__file__).resolve().parents[2].parent / "shared" / "models"
_CACHE = Path(tempfile.gettempdir()) / "gt-models"


def resolve_model(file_name: str, *, store: ObjectStore | None = None, directory: Path | None = None,
                  shared: Path | None = SHARED_MODELS) -> Path | None:
    """A local path holding ``file_name``, or ``None`` when no source has it."""
    if directory is not None and (directory / file_name).is_file():
        return directory / file_name
    if store is not None:
        cached = _CACHE / store.name / file_name
        if cached.is_file():
            return cached
        try:
            data = store.get(BUCKET_PREFIX + file_name)
        except ObjectMissing:
            data = b""
        if data:
            cached.parent.mkdir(parents=True, exist_ok=True)
            partial = cached.with_suffix(".part")
            partial.write_bytes(data)
            partial.replace(cached)
            return cached
    if shared is not None and (shared / file_name).is_file():
        return shared / file_name
    logger.warning("model %s not found; the classical fallback will be used", file_name)
    return None


def providers(available: Sequence[str] | None = None) -> list[str]:
    """CUDA when the runtime has it, CPU always (the one place the execution provider is chosen)."""
    if available is None:
        import onnxruntime as ort

        available = ort.get_available_providers()
    chosen = [p for p in ("CUDAExecutionProvider",) if p in available]
    return [*chosen, "CPUExecutionProvider"]


def open_session(path: Path, *, threads: int | None = None) -> Any:
    """An ``onnxruntime.InferenceSession`` on the preferred providers."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    if threads is not None:
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(str(path), sess_options=options, providers=providers())
