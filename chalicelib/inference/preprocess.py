"""Image → model tensor, by the manifest's words only (pure, no session involved).

The input is the decoded image at full resolution: grey (float32, 0 = black, 1 = white) and, for a
colour source, its RGB planes. In the manifest's order:

1. ``colour``: ``grey`` one grey plane; ``grey3`` the grey plane three times; ``rgb`` the colour
   planes (a grey source gives grey three times). Values are 0–255 (float, unrounded); grey of a
   colour source is luma 0.299 R + 0.587 G + 0.114 B.
2. ``fit`` with ``resize`` (the filter): ``stretch`` resizes to the manifest's size; ``center_crop``
   scales so the image covers it (factor max(H/h, W/w), sides rounded) and keeps the centre
   (offsets floor((new − size) / 2)); ``letterbox`` scales so it fits (factor min(...)) and centres
   it (offsets floor((size − new) / 2)) on ``pad_value``. Filters: ``nearest`` the source pixel under
   each output pixel's centre (centres stepped from s/2 by s = n_in / n_out in double precision, as
   Pillow), ``bilinear`` / ``bicubic`` / ``lanczos`` Pillow's (antialiased when
   shrinking), ``area`` the average over the source area each output pixel covers (OpenCV INTER_AREA).
3. normalisation per channel (``mean_std`` or fixed ``range``), layout ``CHW`` or ``HWC``;
   ``stack`` adds the batch axis.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray
from PIL import Image

from chalicelib.inference.manifest import Colour, Fit, FixedRange, Layout, ModelManifest, Resize

Tensor = NDArray[np.float32]
_PIL_FILTERS = {Resize.NEAREST: Image.Resampling.NEAREST, Resize.BILINEAR: Image.Resampling.BILINEAR,
                Resize.BICUBIC: Image.Resampling.BICUBIC, Resize.LANCZOS: Image.Resampling.LANCZOS}


def resize(plane: NDArray[np.float32], height: int, width: int, method: Resize = Resize.BILINEAR) -> NDArray[np.float32]:
    """One plane resized to ``height`` × ``width`` with the manifest's filter."""
    if plane.shape == (height, width):
        return plane.astype(np.float32, copy=False)
    source = np.ascontiguousarray(plane, dtype=np.float32)
    if method is Resize.AREA:
        import cv2

        return np.asarray(cv2.resize(source, (width, height), interpolation=cv2.INTER_AREA), dtype=np.float32)
    image = Image.fromarray(source, mode="F")
    return np.asarray(image.resize((width, height), _PIL_FILTERS[method]), dtype=np.float32)


def planes_of(grey: NDArray[np.float32], rgb: NDArray[np.float32] | None, colour: Colour) -> list[NDArray[np.float32]]:
    """The 0–255 source planes the manifest's colour rule asks for, at full resolution."""
    if colour is Colour.RGB and rgb is not None:
        return [np.ascontiguousarray(rgb[..., c] * np.float32(255.0)) for c in range(3)]
    luma = (grey * np.float32(255.0)).astype(np.float32)  # the decoder's grey of a colour source is its luma
    return [luma] * (1 if colour is Colour.GREY else 3)


def fit(plane: NDArray[np.float32], manifest: ModelManifest) -> NDArray[np.float32]:
    """One source plane fitted to the manifest's size by its ``fit`` and ``resize`` rules."""
    height, width = manifest.size
    h, w = plane.shape
    if manifest.fit is Fit.STRETCH:
        return resize(plane, height, width, manifest.resize)
    if manifest.fit is Fit.CENTER_CROP:
        scale = max(height / h, width / w)
        new_h, new_w = max(height, round(h * scale)), max(width, round(w * scale))
        scaled = resize(plane, new_h, new_w, manifest.resize)
        top, left = (new_h - height) // 2, (new_w - width) // 2
        return scaled[top:top + height, left:left + width]
    scale = min(height / h, width / w)
    new_h, new_w = min(height, max(1, round(h * scale))), min(width, max(1, round(w * scale)))
    canvas = np.full((height, width), manifest.pad_value, dtype=np.float32)
    top, left = (height - new_h) // 2, (width - new_w) // 2
    canvas[top:top + new_h, left:left + new_w] = resize(plane, new_h, new_w, manifest.resize)
    return canvas


def preprocess(pixels: NDArray[np.float32], manifest: ModelManifest, rgb: NDArray[np.float32] | None = None) -> Tensor:
    """One image as the model's input without the batch axis: (C, H, W) or (H, W, C)."""
    sources = planes_of(pixels, rgb, manifest.colour)
    done: dict[int, NDArray[np.float32]] = {}  # grey3 repeats one plane: fit it once
    for source in sources:
        if id(source) not in done:
            done[id(source)] = fit(source, manifest)
    fitted = [done[id(source)] for source in sources]
    norm = manifest.normalisation
    planes: list[NDArray[np.float32]] = []
    for c, values in enumerate(fitted):
        if isinstance(norm, FixedRange):
            plane = norm.low + values / np.float32(255.0) * (norm.high - norm.low)
        else:
            mean = norm.mean[c] if len(norm.mean) > 1 else norm.mean[0]
            std = norm.std[c] if len(norm.std) > 1 else norm.std[0]
            plane = (values * norm.scale - mean) / std
        planes.append(plane.astype(np.float32))
    axis = 0 if manifest.layout is Layout.NCHW else -1
    return np.stack(planes, axis=axis).astype(np.float32)


def stack(tensors: Sequence[Tensor]) -> Tensor:
    return np.ascontiguousarray(np.stack(list(tensors), axis=0), dtype=np.float32)
