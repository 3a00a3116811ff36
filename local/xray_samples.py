"""Sample chest radiographs for the demo, the bench and tests: the real ones in ../shared/data/cxr,
or generated stand-ins (a drawn frontal chest: dark lungs, bright mediastinum and abdomen) when absent."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
CXR_DIR = ROOT.parent / "shared" / "data" / "cxr"


def real_images() -> list[Path]:
    if not CXR_DIR.is_dir():
        return []
    return sorted(p for p in CXR_DIR.iterdir() if p.suffix.lower() in {".dcm", ".png", ".jpg", ".jpeg"})


def synthetic_chest(size: int = 512, seed: int = 0) -> np.ndarray:
    """A drawn frontal chest film, float32 in [0, 1] (MONOCHROME2 polarity, upright)."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:size, 0:size] / size
    image = np.full((size, size), 0.08, np.float32)
    body = ((x - 0.5) / 0.42) ** 2 + ((y - 0.55) / 0.55) ** 2 < 1
    image[body] = 0.62
    for cx in (0.31, 0.69):
        lung = ((x - cx) / 0.15) ** 2 + ((y - 0.45) / 0.27) ** 2 < 1
        image[lung] = 0.22 + 0.05 * rng.random()
    image[(np.abs(x - 0.5) < 0.07) & (y > 0.15)] = 0.82  # mediastinum and spine
    image[y > 0.8] = np.maximum(image[y > 0.8], 0.85)  # below the diaphragm
    image += rng.normal(0, 0.02, image.shape).astype(np.float32)
    return np.clip(image, 0, 1).astype(np.float32)


def png_bytes(pixels: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray((np.clip(pixels, 0, 1) * 255).astype(np.uint8), mode="L").save(buffer, format="PNG")
    return buffer.getvalue()


def sample_uploads() -> list[tuple[str, bytes]]:
    """(filename, bytes) of every real image, or four generated PNGs when ../shared is absent."""
    found = real_images()
    if found:
        return [(p.name, p.read_bytes()) for p in found]
    return [(f"generated-{i}.png", png_bytes(synthetic_chest(512, seed=i))) for i in range(4)]
