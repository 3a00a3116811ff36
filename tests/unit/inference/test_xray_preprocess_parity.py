"""Parity: the reader's input tensor equals one written straight from the manifest's words.

For every resize × fit × colour × layout × normalisation combination, the pipeline (decode the file,
preprocess by the manifest) is compared with a reference that reads the same file with Pillow and
follows the manifest's documented rules with NumPy (nearest and area resampling computed by hand,
Pillow's filters where the manifest names Pillow's), never calling our preprocessing. |Δ| ≤ 1e-4.
"""

from __future__ import annotations

import itertools
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from chalicelib.imaging import DecodedImage, decode_image
from chalicelib.inference.manifest import ModelManifest
from chalicelib.inference.preprocess import preprocess
from local.xray_samples import CXR_DIR

SIZE = (150, 130)  # height, width: not square, like the source, so every fit differs
RESIZES = ("nearest", "bilinear", "bicubic", "area", "lanczos")
FITS = ("stretch", "center_crop", "letterbox")
COLOURS = ("grey", "grey3", "rgb")
LAYOUTS = ("NCHW", "NHWC")
NORMS = ("mean_std", "range")
IMAGENET = ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))
PAD = 114.0


def manifest(resize: str, fit: str, colour: str, layout: str, norm: str) -> ModelManifest:
    channels = 1 if colour == "grey" else 3
    if norm == "range":
        normalisation: dict[str, Any] = {"kind": "range", "low": -1.0, "high": 1.0}
    elif channels == 3:
        normalisation = {"kind": "mean_std", "mean": IMAGENET[0], "std": IMAGENET[1]}
    else:
        normalisation = {"kind": "mean_std", "mean": (0.5,), "std": (0.25,)}
    return ModelManifest.model_validate({
        "name": "parity", "version": "1", "sha256": "0" * 64, "clinical": False, "input_name": "x",
        "size": SIZE, "layout": layout, "colour": colour, "resize": resize, "fit": fit, "pad_value": PAD,
        "normalisation": normalisation, "labels": [{"name": "a", "threshold": 0.5}]})


# ---- the reference, from the manifest's words --------------------------------------------------

def reference_planes(path: Path, colour: str) -> list[np.ndarray]:
    """0–255 planes: grey = 0.299 R + 0.587 G + 0.114 B; grey3 = grey three times; rgb = R, G, B."""
    image = Image.open(path)
    rgb = np.asarray(image.convert("RGB"), dtype=np.float64)
    grey = np.asarray(image, dtype=np.float64) if image.mode == "L" else rgb @ np.array([0.299, 0.587, 0.114])
    if colour == "rgb":
        return [rgb[..., c] for c in range(3)]
    return [grey] * (1 if colour == "grey" else 3)


def _area_weights(n_in: int, n_out: int) -> np.ndarray:
    """Row i: the share of each source pixel inside output pixel i's span [i·s, (i+1)·s), s = n_in / n_out."""
    s = n_in / n_out
    weights = np.zeros((n_out, n_in))
    for i in range(n_out):
        lo, hi = i * s, (i + 1) * s
        for j in range(int(np.floor(lo)), min(n_in, int(np.ceil(hi)))):
            weights[i, j] = max(0.0, min(hi, j + 1) - max(lo, j)) / s
    return weights


def reference_resize(plane: np.ndarray, height: int, width: int, method: str) -> np.ndarray:
    h, w = plane.shape
    if method == "nearest":  # the source pixel under each output pixel's centre, centres stepped from s/2 by s
        def under(n_in: int, n_out: int) -> np.ndarray:
            step, centre, picked = n_in / n_out, n_in / n_out / 2, []
            for _ in range(n_out):
                picked.append(min(n_in - 1, int(np.floor(centre))))
                centre += step
            return np.array(picked)

        picked: np.ndarray = plane[under(h, height)][:, under(w, width)]
        return picked
    if method == "area":  # mean over the covered source area (every case here shrinks)
        assert height <= h and width <= w
        averaged: np.ndarray = _area_weights(h, height) @ plane @ _area_weights(w, width).T
        return averaged
    pillow = {"bilinear": Image.Resampling.BILINEAR, "bicubic": Image.Resampling.BICUBIC,
              "lanczos": Image.Resampling.LANCZOS}[method]
    return np.asarray(Image.fromarray(plane.astype(np.float32), mode="F").resize((width, height), pillow),
                      dtype=np.float64)


def reference_fit(plane: np.ndarray, fit: str, method: str) -> np.ndarray:
    height, width = SIZE
    h, w = plane.shape
    if fit == "stretch":
        return reference_resize(plane, height, width, method)
    if fit == "center_crop":  # cover, then keep the centre
        scale = max(height / h, width / w)
        new_h, new_w = round(h * scale), round(w * scale)
        top, left = (new_h - height) // 2, (new_w - width) // 2
        return reference_resize(plane, new_h, new_w, method)[top:top + height, left:left + width]
    scale = min(height / h, width / w)  # letterbox: fit inside, centred on the pad value
    new_h, new_w = round(h * scale), round(w * scale)
    out = np.full((height, width), PAD)
    top, left = (height - new_h) // 2, (width - new_w) // 2
    out[top:top + new_h, left:left + new_w] = reference_resize(plane, new_h, new_w, method)
    return out


def reference_tensor(path: Path, resize: str, fit: str, colour: str, layout: str, norm: str) -> np.ndarray:
    planes = [reference_fit(p, fit, resize) for p in reference_planes(path, colour)]
    out = []
    for c, p in enumerate(planes):
        if norm == "range":
            out.append(p / 127.5 - 1.0)
        elif len(planes) == 3:
            out.append((p / 255 - IMAGENET[0][c]) / IMAGENET[1][c])
        else:
            out.append((p / 255 - 0.5) / 0.25)
    return np.stack(out, axis=0 if layout == "NCHW" else -1)


# ---- the comparison -------------------------------------------------------------------------------

@cache
def decoded(name: str) -> DecodedImage:
    return decode_image((CXR_DIR / name).read_bytes())


COMBINATIONS = list(itertools.product(RESIZES, FITS, COLOURS, LAYOUTS, NORMS))
IMAGES = ("16747_3_1.jpg", "00000001_000.png")  # colour JPEG 1036×885; 8-bit grey PNG 512×512


@pytest.mark.shared
@pytest.mark.parametrize("image", IMAGES)
@pytest.mark.parametrize(("resize", "fit", "colour", "layout", "norm"), COMBINATIONS)
def test_the_pipeline_tensor_equals_the_manifests_words(image, resize, fit, colour, layout, norm):
    path = CXR_DIR / image
    if not path.exists():
        pytest.skip("../shared/data/cxr is absent")
    # GIVEN a manifest stating one combination, and the file decoded by the reader
    spec = manifest(resize, fit, colour, layout, norm)
    source = decoded(image)
    # WHEN the pipeline prepares the model input
    tensor = preprocess(source.pixels, spec, source.rgb)
    # THEN it equals the reference written from the manifest's words
    expected = reference_tensor(path, resize, fit, colour, layout, norm)
    assert tensor.shape == expected.shape == ((3 if colour != "grey" else 1, *SIZE) if layout == "NCHW"
                                              else (*SIZE, 3 if colour != "grey" else 1))
    assert tensor.dtype == np.float32
    assert float(np.abs(tensor - expected).max()) <= 1e-4


@pytest.mark.shared
def test_a_large_film_is_prepared_from_its_full_resolution_pixels():
    # GIVEN the 2373 px JPEG (once shrunk on decode) and a nearest-neighbour, grey3, [-1, 1] manifest
    path = CXR_DIR / "covid-19-pneumonia-58-prior.jpg"
    if not path.exists():
        pytest.skip("../shared/data/cxr is absent")
    source = decode_image(path.read_bytes())
    tensor = preprocess(source.pixels, manifest("nearest", "stretch", "grey3", "NHWC", "range"), source.rgb)
    # THEN the input is exactly the film's own pixels picked by the nearest rule
    expected = reference_tensor(path, "nearest", "stretch", "grey3", "NHWC", "range")
    assert float(np.abs(tensor - expected).max()) <= 1e-4
