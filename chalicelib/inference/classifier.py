"""An ONNX classifier driven by its manifest: batched ``predict`` and an occlusion heatmap."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from chalicelib.inference.manifest import Layout, ModelManifest
from chalicelib.inference.postprocess import activate
from chalicelib.inference.preprocess import Tensor, preprocess, stack


@dataclass(frozen=True)
class Prediction:
    scores: NDArray[np.float32]  # (N, labels) probabilities
    preprocess_ms: float
    inference_ms: float


class Classifier:
    """Holds one ready ``onnxruntime.InferenceSession`` (created and warmed by the registry)."""

    def __init__(self, manifest: ModelManifest, session: Any, cam_weights: NDArray[np.float32] | None = None) -> None:
        self.manifest = manifest
        self.session = session
        # (labels, K): the final linear layer, when the manifest asks for class activation maps
        self.cam_weights = cam_weights
        inputs = {i.name: i for i in session.get_inputs()}
        if manifest.input_name not in inputs:
            raise ValueError(f"model has no input {manifest.input_name!r} (inputs: {sorted(inputs)})")
        batch_dim = inputs[manifest.input_name].shape[0]
        self.max_batch: int | None = batch_dim if isinstance(batch_dim, int) and batch_dim > 0 else None
        self.output_name = manifest.output_name or session.get_outputs()[0].name
        self.providers: list[str] = list(session.get_providers())

    def run(self, batch: Tensor) -> NDArray[np.float32]:
        """Probabilities for a ready batch: one session run (in chunks if the model fixes its batch size)."""
        return self.run_with_features(batch, features=False)[0]

    @property
    def has_cam(self) -> bool:
        return self.cam_weights is not None and self.manifest.class_activation is not None

    def run_with_features(self, batch: Tensor, *, features: bool = True
                          ) -> tuple[NDArray[np.float32], NDArray[np.float32] | None]:
        """Probabilities and, when the manifest names a feature-map output, the feature maps of the same run."""
        step = self.max_batch or len(batch)
        cam = self.manifest.class_activation if features and self.has_cam else None
        names = [self.output_name] + ([cam.feature_output] if cam else [])
        runs = [self.session.run(names, {self.manifest.input_name: batch[i:i + step]})
                for i in range(0, len(batch), max(step, 1))]
        raw = np.concatenate([np.asarray(r[0], dtype=np.float32).reshape(len(r[0]), -1) for r in runs], axis=0)
        maps = np.concatenate([np.asarray(r[1], dtype=np.float32) for r in runs], axis=0) if cam else None
        if raw.shape[1] != len(self.manifest.labels):
            raise ValueError(f"model gives {raw.shape[1]} outputs per image; the manifest names {len(self.manifest.labels)}")
        return activate(raw, self.manifest.activation), maps

    def class_activation(self, features: NDArray[np.float32], label_index: int) -> NDArray[np.float32]:
        """CAM (Zhou et al. 2016) of one image: ``sum_k w[label, k] * features[k]``, clipped at 0, scaled to [0, 1]."""
        assert self.cam_weights is not None
        maps = features if features.shape[0] == self.cam_weights.shape[1] else np.moveaxis(features, -1, 0)
        heat = np.tensordot(self.cam_weights[label_index], maps, axes=(0, 0)).astype(np.float32)
        heat = np.clip(heat, 0.0, None)
        peak = float(heat.max())
        return (heat / peak if peak > 0 else heat).astype(np.float32)

    def predict(self, images: Sequence[NDArray[np.float32]]) -> Prediction:
        """One batched inference over decoded grey images."""
        started = time.perf_counter()
        tensors = [preprocess(image, self.manifest) for image in images]
        batch = stack(tensors)
        prepared = time.perf_counter()
        scores = self.run(batch)
        done = time.perf_counter()
        return Prediction(scores=scores, preprocess_ms=(prepared - started) * 1000, inference_ms=(done - prepared) * 1000)

    def warm_up(self) -> None:
        height, width = self.manifest.size
        self.run_with_features(stack([preprocess(np.full((height, width), 0.5, np.float32), self.manifest)]))

    def occlusion(self, tensor: Tensor, label_index: int, grid: int = 6) -> NDArray[np.float32]:
        """Occlusion sensitivity (Zeiler & Fergus) of one image: see ``occlusion_batch``."""
        return self.occlusion_batch([tensor], [label_index], grid=grid)[0]

    def occlusion_batch(self, tensors: Sequence[Tensor], labels: Sequence[int], grid: int = 6,
                        chunk: int = 32) -> list[NDArray[np.float32]]:
        """Per image, the score drop of its label when each of ``grid``×``grid`` cells is replaced by the
        image mean, clipped at 0 and scaled to [0, 1]. All variants of all images run as a few large
        batches (``chunk`` variants per session run)."""
        if not tensors:
            return []
        variants = np.concatenate([self._occluded(tensor, grid) for tensor in tensors])
        scores = np.concatenate([self.run(variants[i:i + chunk]) for i in range(0, len(variants), chunk)])
        maps: list[NDArray[np.float32]] = []
        per_image = grid * grid + 1
        for n, label in enumerate(labels):
            block = scores[n * per_image:(n + 1) * per_image, label]
            drop = np.clip(block[0] - block[1:], 0.0, None).reshape(grid, grid)
            peak = float(drop.max())
            maps.append((drop / peak if peak > 0 else drop).astype(np.float32))
        return maps

    def _occluded(self, tensor: Tensor, grid: int) -> Tensor:
        """The image followed by its grid×grid occluded copies, as one (grid² + 1, …) array."""
        spatial = (1, 2) if self.manifest.layout is Layout.NCHW else (0, 1)
        height, width = (tensor.shape[s] for s in spatial)
        mean = tensor.mean(axis=spatial, keepdims=True)
        out = np.repeat(tensor[None], grid * grid + 1, axis=0)
        for row in range(grid):
            for col in range(grid):
                ys = slice(row * height // grid, (row + 1) * height // grid)
                xs = slice(col * width // grid, (col + 1) * width // grid)
                target = out[1 + row * grid + col]
                if self.manifest.layout is Layout.NCHW:
                    target[:, ys, xs] = mean[:, 0:1, 0:1]
                else:
                    target[ys, xs, :] = mean[0:1, 0:1, :]
        return out
