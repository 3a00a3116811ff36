"""Image and video dimensions read from the header, before a decoder allocates any pixel.

A few hundred KB of PNG (or a clip of PNG frames) can declare 30000×30000 pixels; a decoder asked
for the pixels first allocates gigabytes. Every input a caller sends is sized here first.
"""

from __future__ import annotations

import io
import warnings
from typing import Any

from PIL import Image, UnidentifiedImageError

MAX_IMAGE_PIXELS = 4096 * 4096  # a 16-megapixel still is 48 MB as BGR


class ProbeError(ValueError):
    """The header cannot be read, or declares more pixels than allowed."""


class TooManyPixels(ProbeError):
    """The header declares more pixels than the limit."""


def image_size(data: bytes, *, max_pixels: int = MAX_IMAGE_PIXELS) -> tuple[int, int]:
    """(width, height) from a PNG or JPEG header (Pillow reads the header only); ProbeError otherwise."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            with Image.open(io.BytesIO(data), formats=["PNG", "JPEG"]) as image:
                width, height = image.size
        except Image.DecompressionBombError as exc:  # Pillow's own cap is far above ours
            raise TooManyPixels(f"the image declares more than {max_pixels} pixels") from exc
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
            raise ProbeError("not a readable JPEG or PNG image") from exc
    check_pixels(width, height, max_pixels=max_pixels)
    return width, height


def check_pixels(width: int, height: int, *, max_pixels: int = MAX_IMAGE_PIXELS) -> None:
    if width <= 0 or height <= 0:
        raise ProbeError(f"the header declares {width}×{height} pixels")
    if width * height > max_pixels:
        raise TooManyPixels(f"{width}×{height} pixels exceed the limit of {max_pixels}")


def check_video_stream(stream: Any, *, max_pixels: int = MAX_IMAGE_PIXELS) -> None:
    """The frame size a PyAV video stream declares (container header / codec parameters), checked
    before its first frame is decoded."""
    context = stream.codec_context
    check_pixels(int(context.width or 0), int(context.height or 0), max_pixels=max_pixels)
