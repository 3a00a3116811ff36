"""What lands under ``monitor/<camera_id>/``: the key names the camera and the capture time, the
bytes are one still (JPEG/PNG) or a short clip (anything PyAV decodes: MP4, TS, AVI …).

Key: ``monitor/<camera_id>/<epoch ms>[-anything].<ext>``; a clip's frames are timed from its
start plus their presentation time. Frames come out as BGR arrays, sampled at ``fps``.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from chalicelib.errors import PermanentError
from chalicelib.video.detect import Frame
from chalicelib.video.probe import MAX_IMAGE_PIXELS, ProbeError, check_video_stream, image_size

PREFIX = "monitor/"
STILLS = frozenset({"jpg", "jpeg", "png"})
CLIPS = frozenset({"mp4", "ts", "avi", "mkv", "mov", "webm"})
_KEY = re.compile(r"^monitor/(?P<camera>[A-Za-z0-9._-]{1,64})/(?P<t>\d{10,16})(?:[-_][^/]*)?\.(?P<ext>[A-Za-z0-9]{2,5})$")
MAX_CLIP_FRAMES = 3000
# a Korean TrueType font: Debian's fonts-nanum (the Makefile installs it), or one shipped beside the code
CAPTION_FONTS = (Path("/opt/fonts/NanumGothic.ttf"), Path("/usr/share/fonts/truetype/nanum/NanumGothic.ttf"),
                 Path("/usr/share/fonts/truetype/nanum/NanumBarunGothic.ttf"))
KIND_KO = {"zone_intrusion": "구역 침입", "loitering": "배회", "person_down": "쓰러짐", "crowding": "밀집",
           "night_presence": "야간 출입"}


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


def cut_clip(data: bytes, center_ms: int, *, before_ms: int = 4000, after_ms: int = 4000) -> bytes:
    """MP4 of the uploaded clip's frames from ``before_ms`` before to ``after_ms`` after ``center_ms``
    (offsets from the clip's start): the moment in motion, up to 8 s, less where the upload ends."""
    import av

    out = io.BytesIO()
    stream = None
    with av.open(io.BytesIO(data), mode="r") as source, av.open(out, mode="w", format="mp4") as target:
        video = source.streams.video[0]
        rate = video.average_rate or 10
        first: float | None = None
        for frame in source.decode(video):
            t = float(frame.time) if frame.time is not None else 0.0
            first = t if first is None else first
            offset_ms = (t - first) * 1000.0
            if offset_ms < center_ms - before_ms:
                continue
            if offset_ms > center_ms + after_ms:
                break
            if stream is None:
                stream = target.add_stream("mpeg4", rate=rate)
                stream.width, stream.height, stream.pix_fmt = frame.width - frame.width % 2, \
                    frame.height - frame.height % 2, "yuv420p"
            image = frame.to_ndarray(format="bgr24")[:stream.height, :stream.width]
            for packet in stream.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(image, dtype=np.uint8), format="bgr24")):
                target.mux(packet)
        if stream is not None:
            for packet in stream.encode():
                target.mux(packet)
    return out.getvalue()


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


@cache
def caption_font(size: int = 18) -> ImageFont.FreeTypeFont | None:
    """A PIL font that has Hangul, or None (the caption then falls back to ASCII)."""
    for path in CAPTION_FONTS:
        if path.is_file():
            return ImageFont.truetype(str(path), size)
    return None


def local_time(t_ms: int, utc_offset_minutes: int) -> str:
    """``2025-11-22 17:26:40 KST`` (the zone's name for +09:00, else ``UTC+hh:mm``)."""
    moment = datetime.fromtimestamp(t_ms / 1000, UTC) + timedelta(minutes=utc_offset_minutes)
    zone = "KST" if utc_offset_minutes == 540 else f"UTC{utc_offset_minutes / 60:+.1f}h"
    return f"{moment:%Y-%m-%d %H:%M:%S} {zone}"


def event_snapshot(frame: Frame, *, boxes: Sequence[tuple[float, float, float, float, str]],
                   zone: Sequence[tuple[float, float]] | None, camera_id: str, rule_id: str, kind: str,
                   t_ms: int, utc_offset_minutes: int, quality: int = 85) -> bytes:
    """What the operator sees first: the frame with the rule's zone (yellow), the people behind the event
    (red boxes) and a caption naming the camera, the rule (in Korean) and the local time."""
    canvas = frame.copy()
    h, w = canvas.shape[:2]
    if zone:
        points = np.array([(int(x * w), int(y * h)) for x, y in zone], dtype=np.int32)
        shade = canvas.copy()
        cv2.fillPoly(shade, [points], (0, 215, 255))
        canvas = np.asarray(cv2.addWeighted(shade, 0.18, canvas, 0.82, 0), dtype=np.uint8)
        cv2.polylines(canvas, [points], True, (0, 215, 255), 2)
    for x1, y1, x2, y2, label in boxes:
        p1, p2 = (int(x1 * w), int(y1 * h)), (int(x2 * w), int(y2 * h))
        cv2.rectangle(canvas, p1, p2, (0, 0, 255), 2)
        cv2.putText(canvas, label, (p1[0], max(12, p1[1] - 4)), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (0, 0, 255), 1)
    cv2.rectangle(canvas, (0, 0), (w, 28), (0, 0, 0), -1)
    when = local_time(t_ms, utc_offset_minutes)
    font = caption_font()
    if font is None:
        cv2.putText(canvas, f"{camera_id}  {kind} ({rule_id})  {when}", (6, 19), cv2.FONT_HERSHEY_SIMPLEX, 0.5,
                    (255, 255, 255), 1)
    else:
        image = Image.fromarray(cv2.cvtColor(canvas, cv2.COLOR_BGR2RGB))
        ImageDraw.Draw(image).text((6, 4), f"{camera_id}  {KIND_KO.get(kind, kind)} ({rule_id})  {when}",
                                   font=font, fill=(255, 255, 255))
        canvas = np.asarray(cv2.cvtColor(np.asarray(image), cv2.COLOR_RGB2BGR), dtype=np.uint8)
    ok, encoded = cv2.imencode(".jpg", canvas, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise UnusableMedia("the snapshot could not be encoded")
    return bytes(encoded.tobytes())
