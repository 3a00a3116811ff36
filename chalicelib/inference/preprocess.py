"""Image → model tensor, by the manifest's rules only (pure, no session involved).

The input is a decoded display-ready grey image (float32, 0 = black, 1 = white). It is resized
(bilinear, antialiased) to the manifest's ``size``, expressed as 0–255 grey values ``p``
(float, unrounded), normalised (``mean_std`` or fixed ``range``), replicated to the manifest's
channel count and laid out as ``CHW`` or ``HWC``. ``stack`` adds the batch axis.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray
from PIL import Image

from chalicelib.inference.manifest import FixedRange, Layout, ModelManifest

Tensor = NDArray[np.float32]


def resize(pixels: NDArray[np.float32], height: int, width: int) -> NDArray[np.float32]:
    if pixels.shape == (height, width):
        return pixels.astype(np.float32, copy=False)
    image = Image.fromarray(np.ascontiguousarray(pixels, dtype=np.float32), mode="F")
    return np.asarray(image.resize((width, height), Image.Resampling.BILINEAR), dtype=np.float32)


def preprocess(pixels: NDArray[np.float32], manifest: ModelManifest) -> Tensor:
    """One image as the model's input without the batch axis: (C, H, W) or (H, W, C)."""
    height, width = manifest.size
    grey = resize(pixels, height, width) * np.float32(255.0)
    norm = manifest.normalisation
    planes: list[NDArray[np.float32]] = []
    for c in range(manifest.channels):
        if isinstance(norm, FixedRange):
            plane = norm.low + grey / np.float32(255.0) * (norm.high - norm.low)
        else:
            mean = norm.mean[c] if len(norm.mean) > 1 else norm.mean[0]
            std = norm.std[c] if len(norm.std) > 1 else norm.std[0]
            plane = (grey * norm.scale - mean) / std
        planes.append(plane.astype(np.float32))
    axis = 0 if manifest.layout is Layout.NCHW else -1
    return np.stack(planes, axis=axis).astype(np.float32)


def stack(tensors: Sequence[Tensor]) -> Tensor:
    return np.ascontiguousarray(np.stack(list(tensors), axis=0), dtype=np.float32)
