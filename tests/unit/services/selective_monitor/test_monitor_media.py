"""Monitor media: the key scheme, stills, clips sampled at a rate, snapshots with boxes."""

from __future__ import annotations

import io

import av
import cv2
import numpy as np
import pytest

from chalicelib.services.selective_monitor.media import UnusableMedia, annotate, decode_still, parse_key, sample_clip


def synthetic_clip(seconds: float = 3.0, fps: int = 10) -> bytes:
    out = io.BytesIO()
    with av.open(out, mode="w", format="mp4") as container:
        stream = container.add_stream("mpeg4", rate=fps)
        stream.width, stream.height, stream.pix_fmt = 160, 120, "yuv420p"
        for i in range(int(seconds * fps)):
            frame = np.full((120, 160, 3), (i * 8) % 256, dtype=np.uint8)
            for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="bgr24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return out.getvalue()


def test_keys_name_camera_time_and_kind():
    clip = parse_key("monitor/DEMO-CITYHALL-1/1763802000000-clip.mp4")
    assert (clip.camera_id, clip.start_ms, clip.still) == ("DEMO-CITYHALL-1", 1763802000000, False)
    assert parse_key("monitor/C.7/1763802000123.JPG").still


@pytest.mark.parametrize("key", ["monitor/C1/clip.mp4", "monitor/C1/1763802000000.exe", "monitor/1763802000000.jpg",
                                 "monitor/C1/x/1763802000000.jpg", "other/C1/1763802000000.jpg"])
def test_keys_outside_the_scheme_are_unusable(key):
    with pytest.raises(UnusableMedia):
        parse_key(key)


def test_a_clip_is_sampled_at_the_requested_rate_with_offsets():
    offsets = [t for t, frame in sample_clip(synthetic_clip(3.0, 10), fps=2.0)]
    assert offsets == [0, 500, 1000, 1500, 2000, 2500]


def test_garbage_is_unusable_not_a_crash():
    with pytest.raises(UnusableMedia):
        list(sample_clip(b"not a video at all" * 100, fps=2.0))
    with pytest.raises(UnusableMedia):
        decode_still(b"\xff\xd8 not a jpeg")


def test_snapshot_is_a_jpeg_with_the_box_drawn():
    frame = np.zeros((100, 200, 3), dtype=np.uint8)
    data = annotate(frame, [(0.25, 0.2, 0.5, 0.8, "#1 0.90")])
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    assert image is not None
    assert data[:2] == b"\xff\xd8"
    assert image.shape == (100, 200, 3)
    assert image[50, 50, 2] > 150 and image[50, 50, 0] < 100  # the box's left edge is red
    assert image[50, 75].max() < 60  # inside the box untouched
