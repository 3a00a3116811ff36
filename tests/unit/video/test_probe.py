"""Every image and video a caller sends is sized from its header before any pixel is decoded: a small
file declaring an enormous image is refused without the memory its pixels would take."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from chalicelib.video.probe import ProbeError, TooManyPixels, check_pixels, image_size

ROOT = Path(__file__).resolve().parents[3]
RSS_BUDGET_MB = 200  # issue 14: no request may raise the API's RSS by more than this


def run_isolated(setup: str, call: str) -> dict[str, object]:
    """Run ``call`` in a fresh interpreter after ``setup``; its exception type and its peak-RSS growth."""
    script = textwrap.dedent(f"""
        import json, resource, sys
        sys.path[:0] = [{str(ROOT)!r}, {str(ROOT / "tests")!r}]
        {setup}
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        try:
            {call}
            error = None
        except Exception as exc:
            error = type(exc).__name__
        grown = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
        print(json.dumps({{"error": error, "grown_mb": grown}}))
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=240, check=True)
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


BOMB_SETUP = "from bombs import png_bomb; import base64; bomb = png_bomb(); encoded = base64.b64encode(bomb).decode()"


def test_a_search_photo_bomb_is_refused_from_its_header():
    # GIVEN a ~150 KB PNG declaring 30000×30000 pixels, WHEN a search decodes it as a subject photo
    result = run_isolated(BOMB_SETUP + "; from chalicelib.services.search.service import decode_photo",
                          "decode_photo(0, encoded)")
    # THEN it is refused, and the process grew by far less than the 2.7 GB its pixels would take
    assert result["error"] == "PhotoRejected"
    assert float(str(result["grown_mb"])) < RSS_BUDGET_MB


def test_a_monitor_still_bomb_is_refused_from_its_header():
    result = run_isolated(BOMB_SETUP + "; from chalicelib.services.selective_monitor.media import decode_still",
                          "decode_still(bomb)")
    assert result["error"] == "UnusableMedia"
    assert float(str(result["grown_mb"])) < RSS_BUDGET_MB


def test_a_monitor_clip_bomb_is_refused_before_its_first_frame():
    # GIVEN a ~110 KB clip whose PNG frames are 16000×16000 (768 MB each as BGR)
    result = run_isolated("from bombs import clip_bomb; clip = clip_bomb()\n        "
                          "from chalicelib.services.selective_monitor.media import sample_clip",
                          "list(sample_clip(clip, fps=2.0))")
    assert result["error"] == "UnusableMedia"
    assert float(str(result["grown_mb"])) < RSS_BUDGET_MB


def test_an_xray_upload_bomb_is_refused_from_its_header():
    result = run_isolated(BOMB_SETUP + "; from chalicelib.imaging.decode import decode_image", "decode_image(bomb)")
    assert result["error"] == "ImageTooLarge"
    assert float(str(result["grown_mb"])) < RSS_BUDGET_MB


def test_sizes_come_from_the_header(tmp_path):
    import cv2
    import numpy as np

    ok, png = cv2.imencode(".png", np.zeros((30, 40, 3), np.uint8))
    ok2, jpeg = cv2.imencode(".jpg", np.zeros((50, 70, 3), np.uint8))
    assert ok and ok2
    assert image_size(png.tobytes()) == (40, 30)
    assert image_size(jpeg.tobytes()) == (70, 50)
    with pytest.raises(TooManyPixels):
        image_size(png.tobytes(), max_pixels=40 * 30 - 1)


@pytest.mark.parametrize("data", [b"", b"GIF89a" + b"\0" * 64, b"BM" + b"\0" * 64, b"\x89PNG\r\n\x1a\n" + b"\0" * 8])
def test_other_or_broken_formats_are_refused(data):
    with pytest.raises(ProbeError):
        image_size(data)


@pytest.mark.parametrize(("width", "height"), [(0, 10), (10, -1), (4097, 4096)])
def test_pixel_checks(width, height):
    with pytest.raises(ProbeError):
        check_pixels(width, height)


def test_the_photo_check_and_the_base64_path_agree():
    from bombs import png_bomb

    from chalicelib.services.search.service import PhotoRejected, decode_photo

    small = png_bomb(64)
    assert decode_photo(0, base64.b64encode(small).decode()).shape == (64, 64, 3)
    with pytest.raises(PhotoRejected, match="larger than"):
        decode_photo(0, base64.b64encode(png_bomb(5000)).decode())


def test_a_large_photo_is_decoded_at_half_size():
    import cv2
    import numpy as np

    from chalicelib.services.search.service import decode_photo

    ok, jpeg = cv2.imencode(".jpg", np.full((3000, 4000, 3), 128, np.uint8))
    assert ok
    assert decode_photo(0, base64.b64encode(jpeg.tobytes()).decode()).shape == (1500, 2000, 3)
