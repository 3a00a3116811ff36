"""The quality gate: each kind of unusable upload is rejected with its own code and a measured reason."""

from __future__ import annotations

import dataclasses
import io

import numpy as np
import pytest
from PIL import Image
from xray_support import colour_photo_jpeg, png_bytes, real_or_skip, synthetic_chest

from chalicelib.imaging import check_quality, decode_image
from chalicelib.imaging.errors import BlankImage, ColourPhoto, ImageTooSmall, InvertedImage, NotFrontalChest


def test_a_drawn_frontal_chest_passes_and_reports_its_measures():
    report = check_quality(decode_image(png_bytes(synthetic_chest(512))))
    assert report.central_minus_lungs > 0.3
    assert report.polarity > 0.5


def test_a_colour_photo_is_rejected_as_such():
    with pytest.raises(ColourPhoto, match="colourfulness") as caught:
        check_quality(decode_image(colour_photo_jpeg()))
    assert caught.value.code == "colour_photo"


def test_a_grey_radiograph_saved_as_rgb_is_not_a_colour_photo():
    grey = (synthetic_chest(512) * 255).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(np.stack([grey] * 3, axis=-1), mode="RGB").save(buffer, format="JPEG", quality=85)
    image = decode_image(buffer.getvalue())
    assert image.photometric == "RGB"
    assert image.colourfulness < 2
    check_quality(image)


def test_an_image_smaller_than_256_pixels_on_a_side_is_too_small():
    with pytest.raises(ImageTooSmall, match="200×400") as caught:
        check_quality(decode_image(png_bytes(synthetic_chest(400)[:, :200])))
    assert caught.value.code == "image_too_small"


def test_a_blank_image_is_rejected():
    with pytest.raises(BlankImage, match="std"):
        check_quality(decode_image(png_bytes(np.full((512, 512), 0.4, np.float32))))


def test_an_inverted_film_is_rejected_with_its_polarity_measures():
    with pytest.raises(InvertedImage, match="mediastinum darker") as caught:
        check_quality(decode_image(png_bytes(1.0 - synthetic_chest(512))))
    assert caught.value.code == "inverted_image"


@pytest.mark.shared
def test_every_real_film_inverted_is_caught():
    for path in real_or_skip():
        image = decode_image(path.read_bytes())
        flipped = dataclasses.replace(image, pixels=(1.0 - image.pixels).astype(np.float32))
        with pytest.raises(InvertedImage):
            check_quality(flipped)


@pytest.mark.parametrize(("view", "body", "words"), [("LL", "CHEST", "lateral view"), ("PA", "KNEE", "KNEE")])
def test_a_lateral_view_or_another_body_part_is_rejected_from_the_header(view, body, words):
    image = dataclasses.replace(decode_image(png_bytes(synthetic_chest(512))), view_position=view, body_part=body)
    with pytest.raises(NotFrontalChest, match=words):
        check_quality(image)
