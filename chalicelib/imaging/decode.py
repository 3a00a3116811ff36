"""Decode an upload (DICOM, PNG, JPEG) into one display-ready grey image.

The result follows MONOCHROME2 semantics whatever the source: 0.0 is black (air, lungs), 1.0 is
white (bone), float32. DICOM goes through Modality LUT / Rescale, then VOI LUT or window, and
MONOCHROME1 is inverted; PNG/JPEG 8- and 16-bit greyscale are scaled by their bit depth, RGB is
reduced to luma after its colourfulness is measured (the quality gate rejects colour photos) and
kept beside it (``rgb``) for models whose manifest asks for colour.

Guards: a byte cap, a pixel cap checked from the header *before* any pixel is decoded (the
decompression-bomb defence, for Pillow and DICOM alike), and Pillow's own bomb check turned into
an error. Pixels stay at full resolution: the only resize is the one the model's manifest states
(a decode-time shrink would change the model's input).
"""

from __future__ import annotations

import io
import logging
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray
from PIL import Image, UnidentifiedImageError
from pydicom import config as pydicom_config

from chalicelib.imaging.errors import ImageTooLarge, NotAnImage, UnsupportedImage

# pydicom's validation warnings quote element values (a patient's name among them): never emit them.
logging.getLogger("pydicom").setLevel(logging.ERROR)
pydicom_config.settings.reading_validation_mode = pydicom_config.IGNORE
_PNG = b"\x89PNG\r\n\x1a\n"
_JPEG = b"\xff\xd8\xff"
_GREY_MODES = {"L", "I;16", "I;16B", "I;16L", "I", "F", "1"}


@dataclass(frozen=True)
class DecodeLimits:
    """What the reader accepts before it spends memory on pixels."""

    max_bytes: int = 50 * 1024 * 1024
    max_pixels: int = 40_000_000


@dataclass(frozen=True)
class DecodedImage:
    pixels: NDArray[np.float32] = field(repr=False)
    width: int
    height: int
    format: str
    bits: int
    photometric: str
    colourfulness: float = 0.0
    rgb: NDArray[np.float32] | None = field(default=None, repr=False, compare=False)  # (H, W, 3) in [0, 1]
    view_position: str | None = None
    body_part: str | None = None
    dataset: Any = field(default=None, repr=False, compare=False)

    @property
    def min_side(self) -> int:
        return min(self.width, self.height)


def sniff_format(data: bytes) -> str | None:
    if len(data) >= 132 and data[128:132] == b"DICM":
        return "dicom"
    if data.startswith(_PNG):
        return "png"
    if data.startswith(_JPEG):
        return "jpeg"
    return None


def decode_image(data: bytes, limits: DecodeLimits | None = None) -> DecodedImage:
    limits = limits or DecodeLimits()
    if len(data) > limits.max_bytes:
        raise ImageTooLarge(f"upload is {len(data)} bytes; the limit is {limits.max_bytes}")
    kind = sniff_format(data)
    if kind is None:
        raise NotAnImage("not a DICOM (no DICM marker), PNG or JPEG file")
    if kind == "dicom":
        return _decode_dicom(data, limits)
    return _decode_pillow(data, kind, limits)


def colourfulness(rgb: NDArray[Any]) -> float:
    """Hasler & Süsstrunk (2003) colourfulness on a 0–255 scale: 0 for grey, > ~30 for photos."""
    small = rgb[:: max(1, rgb.shape[0] // 256), :: max(1, rgb.shape[1] // 256)].astype(np.float32)
    r, g, b = small[..., 0], small[..., 1], small[..., 2]
    rg, yb = r - g, 0.5 * (r + g) - b
    return float(np.hypot(rg.std(), yb.std()) + 0.3 * np.hypot(rg.mean(), yb.mean()))


def _luma(rgb: NDArray[Any]) -> NDArray[np.float32]:
    arr = rgb.astype(np.float32)
    luma: NDArray[np.float32] = 0.299 * arr[..., 0] + 0.587 * arr[..., 1] + 0.114 * arr[..., 2]
    return luma


def _check_pixels(width: int, height: int, frames: int, limits: DecodeLimits) -> None:
    if width <= 0 or height <= 0:
        raise NotAnImage(f"image header gives {width}×{height} pixels")
    if width * height * frames > limits.max_pixels:
        raise ImageTooLarge(f"{width}×{height}×{frames} pixels exceed the limit of {limits.max_pixels}")


def _decode_pillow(data: bytes, kind: str, limits: DecodeLimits) -> DecodedImage:
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            image = Image.open(io.BytesIO(data), formats=["PNG", "JPEG"])
            width, height = image.size
            _check_pixels(width, height, 1, limits)
            image.load()
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise ImageTooLarge(f"decompression bomb refused: {exc}") from exc
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
            raise NotAnImage(f"corrupt or truncated {kind.upper()}: {exc}") from exc
    mode = image.mode
    colour = 0.0
    rgb_out: NDArray[np.float32] | None = None
    if mode in _GREY_MODES:
        raw = np.asarray(image)
        if mode == "1":
            bits, pixels = 1, raw.astype(np.float32)
        elif mode == "L":
            bits, pixels = 8, raw.astype(np.float32) / 255.0
        else:  # 16-bit (or 32-bit int) grey: infer the bits actually used from the largest value
            peak = int(raw.max()) if raw.size else 0
            bits = max(8, min(16, peak.bit_length()))
            pixels = raw.astype(np.float32) / float((1 << bits) - 1)
    else:
        rgb = np.asarray(image.convert("RGB"))
        bits = 8
        colour = colourfulness(rgb)
        pixels = _luma(rgb) / 255.0
        rgb_out = rgb.astype(np.float32) / np.float32(255.0)
    return DecodedImage(pixels=np.clip(pixels, 0.0, 1.0).astype(np.float32), width=width, height=height,
                        format=kind, bits=bits, photometric="RGB" if mode not in _GREY_MODES else "MONOCHROME2",
                        colourfulness=colour, rgb=rgb_out)


def _decode_dicom(data: bytes, limits: DecodeLimits) -> DecodedImage:
    with warnings.catch_warnings():  # their texts can quote identifying values
        warnings.simplefilter("ignore")
        return _decode_dicom_quietly(data, limits)


def _decode_dicom_quietly(data: bytes, limits: DecodeLimits) -> DecodedImage:
    """Error messages name the failure's type only: pydicom's own texts can quote element values."""
    import pydicom
    from pydicom.errors import InvalidDicomError
    from pydicom.pixels.processing import apply_modality_lut, apply_voi_lut

    try:
        ds = pydicom.dcmread(io.BytesIO(data))
        rows, cols = int(ds.get("Rows", 0) or 0), int(ds.get("Columns", 0) or 0)
        frames = int(ds.get("NumberOfFrames", 1) or 1)
    except (InvalidDicomError, ValueError, TypeError, KeyError, EOFError, OSError) as exc:
        raise NotAnImage(f"corrupt DICOM ({type(exc).__name__})") from exc
    if "PixelData" not in ds:
        raise NotAnImage("DICOM object without pixel data (not an image)")
    _check_pixels(cols, rows, frames, limits)
    syntax = ds.file_meta.get("TransferSyntaxUID")
    try:
        raw = ds.pixel_array
    except (NotImplementedError, RuntimeError) as exc:
        name = getattr(syntax, "name", str(syntax))
        raise UnsupportedImage(f"DICOM transfer syntax {name} cannot be decoded here ({type(exc).__name__})") from exc
    except (ValueError, TypeError, AttributeError, KeyError, OSError) as exc:
        raise NotAnImage(f"corrupt DICOM pixel data ({type(exc).__name__})") from exc
    if frames > 1:
        raw = raw[0]
    photometric = str(ds.get("PhotometricInterpretation", "MONOCHROME2")).upper()
    bits = int(ds.get("BitsStored", ds.get("BitsAllocated", 8)) or 8)
    samples = int(ds.get("SamplesPerPixel", 1) or 1)
    colour = 0.0
    rgb_out: NDArray[np.float32] | None = None
    if samples == 3:
        colour = colourfulness(raw)
        scale = float((1 << int(ds.get("BitsStored", 8) or 8)) - 1)
        pixels = _luma(raw) / scale
        rgb_out = np.clip(raw.astype(np.float32) / np.float32(scale), 0.0, 1.0)
    elif samples == 1 and photometric in {"MONOCHROME1", "MONOCHROME2"}:
        values = np.asarray(apply_modality_lut(raw, ds), dtype=np.float64)
        windowed = "VOILUTSequence" in ds or "WindowCenter" in ds
        if windowed:
            values = np.asarray(apply_voi_lut(values, ds, index=0, prefer_lut=True), dtype=np.float64)
            low, high = float(values.min()), float(values.max())
        elif bits <= 8 and "RescaleSlope" not in ds:
            low, high = 0.0, 255.0
        else:  # no window given: a robust window over the stored values
            low, high = (float(v) for v in np.percentile(values, (0.5, 99.5)))
        pixels = ((values - low) / max(high - low, 1e-6)).astype(np.float32)
        if photometric == "MONOCHROME1":
            pixels = 1.0 - pixels
    else:
        raise UnsupportedImage(f"DICOM photometric interpretation {photometric} with {samples} samples is not supported")
    return DecodedImage(pixels=np.clip(pixels, 0.0, 1.0).astype(np.float32), rgb=rgb_out,
                        width=cols, height=rows, format="dicom", bits=bits, photometric=photometric,
                        colourfulness=colour, view_position=_text(ds.get("ViewPosition")),
                        body_part=_text(ds.get("BodyPartExamined")), dataset=ds)


def _text(value: Any) -> str | None:
    text = str(value).strip().upper() if value is not None else ""
    return text or None
