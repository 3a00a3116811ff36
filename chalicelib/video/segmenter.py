"""Transcode recorded footage into fixed-length, self-contained H.264 MPEG-TS segments for HLS.

Every segment is encoded by its own encoder, so it starts with an IDR frame and carries its own
SPS/PPS: each ``.ts`` decodes on its own, which is what an HLS player fetching one segment (or a
clip starting mid-recording) needs. The output is constant frame rate at the source's average
rate and keeps the source resolution (optionally scaled down to ``max_width``).

Presentation timestamps follow the caller's ``start_time_s`` (the wall clock of the first frame),
on the 90 kHz MPEG-TS clock that wraps every 2**33 ticks (about 26.5 hours). Segments of two
uploads that abut in wall time therefore also abut in media time, and a playlist only needs an
``#EXT-X-DISCONTINUITY`` where the wall-clock timeline has a gap or jumps back.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np
from av.video.frame import VideoFrame
from av.video.stream import VideoStream

from chalicelib.errors import PermanentError

logger = logging.getLogger(__name__)

MPEGTS_CLOCK = 90_000
MPEGTS_WRAP = 2**33
CONTENT_TYPE = "video/mp2t"
PRESETS = ("ultrafast", "superfast", "veryfast", "faster", "fast", "medium")


class UnreadableVideo(PermanentError):
    """The input is not a video PyAV can decode (no video stream, corrupt, unknown rate)."""


@dataclass(frozen=True)
class VideoInfo:
    """What the container says about its first video stream."""

    fps: float
    width: int
    height: int
    frames: int | None
    duration_s: float | None


@dataclass(frozen=True)
class EncodedSegment:
    """One self-contained MPEG-TS segment (H.264, yuv420p)."""

    index: int
    data: bytes
    start_s: float  # offset of the first frame from the start of the source
    duration_s: float
    fps: float
    width: int
    height: int
    first_frame: int  # index of the first frame in the source
    frame_count: int

    @property
    def size(self) -> int:
        return len(self.data)

    @property
    def end_s(self) -> float:
        return self.start_s + self.duration_s


def probe(path: str | Path) -> VideoInfo:
    """Rate, size, frame count and duration from the container header (no decoding)."""
    try:
        with av.open(str(path)) as container:
            stream = _video_stream(container)
            rate = _frame_rate(stream)
            duration: float | None = None
            if stream.duration is not None and stream.time_base is not None:
                duration = float(stream.duration * stream.time_base)
            elif container.duration is not None:
                duration = container.duration / av.time_base
            return VideoInfo(fps=float(rate), width=stream.codec_context.width, height=stream.codec_context.height,
                             frames=stream.frames or None, duration_s=duration)
    except av.FFmpegError as exc:
        raise UnreadableVideo(f"{path}: {exc}") from exc


def segment_video(path: str | Path, *, segment_seconds: float = 10.0, preset: str = "veryfast",
                  crf: int = 23, max_width: int | None = None, start_time_s: float = 0.0) -> list[EncodedSegment]:
    """All segments of ``path`` in order (see :func:`iter_segments`)."""
    return list(iter_segments(path, segment_seconds=segment_seconds, preset=preset, crf=crf,
                              max_width=max_width, start_time_s=start_time_s))


def iter_segments(path: str | Path, *, segment_seconds: float = 10.0, preset: str = "veryfast",
                  crf: int = 23, max_width: int | None = None,
                  start_time_s: float = 0.0) -> Iterator[EncodedSegment]:
    """Decode ``path`` and yield its segments as each one completes, so memory holds one segment.

    A segment is ``round(fps * segment_seconds)`` frames; the last one may be shorter.
    ``start_time_s`` sets the presentation time of the first frame (the wall clock, in seconds).
    """
    if segment_seconds <= 0:
        raise ValueError("segment_seconds must be positive")
    if preset not in PRESETS:
        raise ValueError(f"preset must be one of {PRESETS}")
    try:
        with av.open(str(path)) as container:
            stream = _video_stream(container)
            stream.thread_type = "AUTO"
            rate = _frame_rate(stream)
            width, height = output_size(stream.codec_context.width, stream.codec_context.height, max_width)
            per_segment = max(1, round(rate * Fraction(segment_seconds)))
            encoder = _SegmentEncoder(rate, width, height, preset=preset, crf=crf, gop=per_segment,
                                      base_pts=round(Fraction(start_time_s) * MPEGTS_CLOCK) % MPEGTS_WRAP)
            index = 0
            for frame in container.decode(stream):
                encoder.add(frame)
                if encoder.frame_count == per_segment:
                    yield encoder.finish(index)
                    index += 1
            if encoder.frame_count:
                yield encoder.finish(index)
                index += 1
            if index == 0:
                raise UnreadableVideo(f"{path}: no decodable video frames")
    except av.FFmpegError as exc:
        raise UnreadableVideo(f"{path}: {exc}") from exc


def output_size(width: int, height: int, max_width: int | None = None) -> tuple[int, int]:
    """Source size, scaled to ``max_width`` keeping the aspect ratio, rounded down to even
    numbers (4:2:0 chroma needs them)."""
    if width <= 1 or height <= 1:
        raise UnreadableVideo(f"frame size {width}x{height} is too small")
    if max_width is not None and width > max_width:
        height = round(height * max_width / width)
        width = max_width
    return max(2, width - width % 2), max(2, height - height % 2)


class _SegmentEncoder:
    """Encodes one segment at a time into an in-memory MPEG-TS; a fresh encoder per segment
    guarantees the IDR frame and in-band parameter sets at every boundary."""

    def __init__(self, rate: Fraction, width: int, height: int, *, preset: str, crf: int, gop: int,
                 base_pts: int) -> None:
        self._rate = rate
        self._width = width
        self._height = height
        self._options = {"preset": preset, "crf": str(crf)}
        self._gop = gop
        self._base_pts = base_pts
        self._ticks_per_frame = Fraction(MPEGTS_CLOCK) / rate
        self._next_frame = 0
        self._first_frame = 0
        self.frame_count = 0
        self._buffer: io.BytesIO | None = None
        self._container: Any = None
        self._stream: Any = None

    def _open(self) -> None:
        self._buffer = io.BytesIO()
        # Keep timestamps exactly as given: the default shift of a negative first DTS (B-frames)
        # would move only the segment that happens to start near the 90 kHz clock's zero.
        self._container = av.open(self._buffer, mode="w", format="mpegts", options={"avoid_negative_ts": "disabled"})
        stream = self._container.add_stream("libx264", rate=self._rate, options=dict(self._options))
        stream.width = self._width
        stream.height = self._height
        stream.pix_fmt = "yuv420p"
        stream.time_base = Fraction(1, MPEGTS_CLOCK)
        stream.codec_context.time_base = Fraction(1, MPEGTS_CLOCK)
        stream.codec_context.gop_size = self._gop  # the fresh encoder's first frame is the segment's IDR
        self._stream = stream
        self._first_frame = self._next_frame
        self.frame_count = 0

    def add(self, frame: VideoFrame) -> None:
        if self._container is None:
            self._open()
        out = frame.reformat(width=self._width, height=self._height, format="yuv420p")
        out.pts = self._base_pts + round(self._next_frame * self._ticks_per_frame)
        out.time_base = Fraction(1, MPEGTS_CLOCK)
        out.pict_type = av.video.frame.PictureType.NONE  # libx264 would obey the source's I frames
        self._container.mux(self._stream.encode(out))
        self._next_frame += 1
        self.frame_count += 1

    def finish(self, index: int) -> EncodedSegment:
        if self._container is None or self._buffer is None:
            raise RuntimeError("no segment is open")
        self._container.mux(self._stream.encode(None))
        self._container.close()
        data = self._buffer.getvalue()
        segment = EncodedSegment(
            index=index, data=data, start_s=float(self._first_frame / self._rate),
            duration_s=float(self.frame_count / self._rate), fps=float(self._rate),
            width=self._width, height=self._height, first_frame=self._first_frame, frame_count=self.frame_count,
        )
        self._container = self._stream = self._buffer = None
        self.frame_count = 0
        logger.debug("segment %d: %d frames, %d bytes", index, segment.frame_count, len(data))
        return segment


def _video_stream(container: Any) -> Any:
    if not container.streams.video:
        raise UnreadableVideo(f"{container.name}: no video stream")
    return container.streams.video[0]


def _frame_rate(stream: Any) -> Fraction:
    rate = stream.average_rate or stream.guessed_rate or stream.base_rate
    if not rate or rate <= 0 or rate > 240:
        raise UnreadableVideo(f"unusable frame rate {rate!r}")
    return Fraction(rate)


def make_synthetic_video(path: str | Path, seconds: float = 10.0, fps: int = 10,
                         size: tuple[int, int] = (320, 240), *, codec: str = "mpeg4") -> Path:
    """Write a test video of coloured rectangles bouncing over a grey background.

    Stands in for real CCTV footage where that is absent; ``round(seconds * fps)`` frames.
    The container follows the suffix (``.avi``, ``.mp4``, ``.mkv`` …).
    """
    width, height = size
    if width % 2 or height % 2:
        raise ValueError("width and height must be even")
    out_path = Path(path)
    frames = round(seconds * fps)
    boxes = [  # (x, y, w, h, dx, dy, rgb)
        (0.1, 0.2, 0.18, 0.25, 7.0, 3.0, (220, 40, 40)),
        (0.6, 0.5, 0.12, 0.30, -5.0, 4.0, (40, 200, 60)),
        (0.3, 0.7, 0.22, 0.15, 4.0, -6.0, (50, 80, 230)),
    ]
    with av.open(str(out_path), mode="w") as container:
        stream = container.add_stream(codec, rate=fps)
        if not isinstance(stream, VideoStream):
            raise ValueError(f"{codec} is not a video codec")
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        for i in range(frames):
            image = np.full((height, width, 3), 96, dtype=np.uint8)
            image[:, :, 2] = 96 + (i % 64)  # a slow tint so consecutive frames always differ
            for x0, y0, bw, bh, dx, dy, rgb in boxes:
                w, h = max(2, int(bw * width)), max(2, int(bh * height))
                x = _bounce(x0 * width + dx * i, width - w)
                y = _bounce(y0 * height + dy * i, height - h)
                image[y:y + h, x:x + w] = rgb
            frame = VideoFrame.from_ndarray(image, format="rgb24")
            frame.pts = i
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return out_path


def _bounce(position: float, span: int) -> int:
    """Reflect ``position`` into ``[0, span]``: a box bouncing off the frame's edges."""
    if span <= 0:
        return 0
    period = 2 * span
    p = int(position) % period
    return p if p <= span else period - p
