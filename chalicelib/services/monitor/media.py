"""What lands under ``monitor/<camera_id>/``: the key names the camera and the capture time, the
bytes are one still (JPEG/PNG) or a short clip (anything PyAV decodes: MP4, TS, AVI …).

Key: ``monitor/<camera_id>/<epoch ms>[-anything].<ext>``; a clip's frames are timed from its
start plus their presentation time. Frames come out as BGR arrays, sampled at ``fps``.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from dataclasses import dataclass

import cv2
import numpy as np

from chalicelib.errors import PermanentError
from chalicelib.video.detect import Frame
from chalicelib.video.probe import MAX_IMAGE_PIXELS, ProbeError, check_video_stream, image_size

PREFIX = "monitor/"
STILLS = frozenset({"jpg", "jpeg", "png"})
CLIPS = frozenset({"mp4", "ts", "avi", "mkv", "mov", "webm"})
_KEY = re.compile(r"^monitor/(?P<camera>[A-Za-z0-9._-]{1,64})/(?P<t>\d{10,16})(?:[-_][^/]*)?\.(?P<ext>[A-Za-z0-9]{2,5})$")
MAX_CLIP_FRAMES = 3000


class UnusableMedia(PermanentError):
    """The object cannot be analysed: a key outside the naming scheme, or bytes that do not decode."""


@dataclass(frozen=True)
class MediaKey:
    camera_id: str
    start_ms: int
    still: bool


def parse_key(key: str) -> MediaKey:
    match = _KEY.match(key)
    if match is None:
        raise UnusableMedia(f"{key!r} is not monitor/<camera_id>/<epoch_ms>[-suffix].<ext>")
    ext = match["ext"].lower()
    if ext not in STILLS | CLIPS:
        raise UnusableMedia(f"{key!r}: unsupported type .{ext}")
    return MediaKey(camera_id=match["camera"], start_ms=int(match["t"]), still=ext in STILLS)


def decode_still(data: bytes, *, max_pixels: int = MAX_IMAGE_PIXELS) -> Frame:
    try:  # sized from its header first: a small PNG can declare gigabytes of pixels
        image_size(data, max_pixels=max_pixels)
    except ProbeError as exc:
        raise UnusableMedia(f"the image is refused: {exc}") from exc
    image = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_COLOR)
    if image is None:
        raise UnusableMedia("the image does not decode")
    return np.ascontiguousarray(image, dtype=np.uint8)


def sample_clip(data: bytes, fps: float, *, max_pixels: int = MAX_IMAGE_PIXELS) -> Iterator[tuple[int, Frame]]:
    """(offset ms from the clip start, BGR frame) at about ``fps``, the first frame always included.
    The frame size the clip declares is checked before its first frame is decoded."""
    import av

    step_ms = 1000.0 / fps
    next_ms = 0.0
    count = 0
    try:
        with av.open(io.BytesIO(data), mode="r") as container:
            if not container.streams.video:
                raise UnusableMedia("the clip has no video stream")
            stream = container.streams.video[0]
            try:
                check_video_stream(stream, max_pixels=max_pixels)
            except ProbeError as exc:
                raise UnusableMedia(f"the clip is refused: {exc}") from exc
            first: float | None = None
            for frame in container.decode(stream):
                t = float(frame.time) if frame.time is not None else count * step_ms / 1000.0
                first = t if first is None else first
                offset_ms = (t - first) * 1000.0
                if offset_ms + 1e-3 < next_ms:
                    continue
                next_ms = max(next_ms + step_ms, offset_ms)
                count += 1
                if count > MAX_CLIP_FRAMES:
                    raise UnusableMedia(f"the clip is longer than {MAX_CLIP_FRAMES} sampled frames")
                yield round(offset_ms), np.ascontiguousarray(frame.to_ndarray(format="bgr24"))
    except av.FFmpegError as exc:
        raise UnusableMedia(f"the clip does not decode: {exc}") from exc
    if count == 0:
        raise UnusableMedia("the clip holds no frames")


def annotate(frame: Frame, boxes: list[tuple[float, float, float, float, str]], quality: int = 85) -> bytes:
    """JPEG of ``frame`` with normalised boxes (and their captions) drawn in red."""
    canvas = frame.copy()
    h, w = canvas.shape[:2]
    for x1, y1, x2, y2, caption in boxes:
        p1, p2 = (int(x1 * w), int(y1 * h)), (int(x2 * w), int(y2 * h))
        cv2.rectangle(canvas, p1, p2, (0, 0, 255), 2)
        cv2.putText(canvas, caption, (p1[0], max(12, p1[1] - 4)), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (0, 0, 255), 1)
    ok, encoded = cv2.imencode(".jpg", canvas, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise UnusableMedia("the snapshot could not be encoded")
    return bytes(encoded.tobytes())
