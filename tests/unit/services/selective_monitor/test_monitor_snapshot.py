"""What the operator sees: the event snapshot (zone, boxes, Korean caption with camera, rule and KST time)
and the clip of the moment cut from the upload."""

from __future__ import annotations

import io

import av
import cv2
import numpy as np
import pytest
from test_monitor_media import synthetic_clip

from chalicelib.services.selective_monitor.media import caption_font, cut_clip, event_snapshot, local_time, sample_clip

T0 = 1_763_800_000_000  # 2025-11-22 08:26:40 UTC
ZONE = [(0.5, 0.5), (1.0, 0.5), (1.0, 1.0), (0.5, 1.0)]
needs_font = pytest.mark.skipif(caption_font() is None, reason="no Korean font (apt-get install fonts-nanum)")


def grey(h: int = 576, w: int = 768) -> np.ndarray:
    return np.full((h, w, 3), 100, dtype=np.uint8)


def snapshot(kind: str = "zone_intrusion", **extra) -> np.ndarray:
    args = {"boxes": [(0.6, 0.6, 0.7, 0.9, "#1 0.80")], "zone": ZONE, "camera_id": "CAM-001", "rule_id": "lawn",
            "kind": kind, "t_ms": T0, "utc_offset_minutes": 540, **extra}
    data = event_snapshot(grey(), **args)
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    assert image is not None
    return image


def test_local_time_is_named_kst_in_seoul():
    assert local_time(T0, 540) == "2025-11-22 17:26:40 KST"
    assert local_time(T0, 0).startswith("2025-11-22 08:26:40 UTC")


def test_the_snapshot_draws_the_zone_the_box_and_a_caption_bar():
    image = snapshot().astype(int)
    # the zone (bottom right quarter) is tinted yellow, the rest of the picture is not
    inside, outside = image[480, 480], image[288, 150]
    assert inside[2] > inside[0] + 20 and abs(int(outside[2]) - int(outside[0])) < 10
    # the box's edges are red
    b, g, r = image[int(0.75 * 576), int(0.6 * 768) + 1]
    assert r > 150 and g < 80 and b < 80
    # the caption bar is black with white text on it
    bar = image[:28]
    assert (bar.max(axis=2) < 40).mean() > 0.6 and (bar.min(axis=2) > 200).any()


@needs_font
def test_the_caption_is_in_korean_and_names_the_rule_kind():
    font = caption_font()
    assert font is not None and font.getmask("침입").getbbox() is not None  # the font has Hangul glyphs
    intrusion, loitering = snapshot("zone_intrusion")[:28], snapshot("loitering")[:28]
    assert np.abs(intrusion.astype(int) - loitering.astype(int)).sum() > 1000  # 구역 침입 ≠ 배회
    later = snapshot(t_ms=T0 + 3_600_000)[:28]
    assert np.abs(intrusion.astype(int) - later.astype(int)).sum() > 100  # the time is on it


def test_the_clip_of_the_moment_keeps_the_frames_around_it():
    clip = bar_clip(30)  # frame i shows a white bar at x = 5 i
    cut = list(sample_clip(cut_clip(clip, 1500, before_ms=1000, after_ms=1000), fps=10))
    assert len(cut) == 21
    bars = [int(np.argmax(frame.mean(axis=(0, 2)))) // 5 for _, frame in cut]
    assert bars == list(range(5, 26))  # 0.5 s .. 2.5 s, in order


def bar_clip(frames: int) -> bytes:
    out = io.BytesIO()
    with av.open(out, mode="w", format="mp4") as container:
        stream = container.add_stream("mpeg4", rate=10)
        stream.width, stream.height, stream.pix_fmt = 160, 120, "yuv420p"
        for i in range(frames):
            frame = np.zeros((120, 160, 3), dtype=np.uint8)
            frame[:, 5 * i:5 * i + 3] = 255
            for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="bgr24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return out.getvalue()


def test_a_moment_near_the_start_gets_what_the_upload_has():
    cut = list(sample_clip(cut_clip(synthetic_clip(seconds=3.0, fps=10), 200), fps=10))
    assert len(cut) == 30  # 0 .. 2.9 s: less than 4 s either side exists
