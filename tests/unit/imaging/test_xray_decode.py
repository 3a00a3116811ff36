"""Decoding DICOM / PNG / JPEG into display-ready grey: real films, polarity, bit depth, and the guards."""

from __future__ import annotations

import io

import numpy as np
import pydicom
import pytest
from PIL import Image
from pydicom.uid import ExplicitVRLittleEndian
from xray_support import dicom_path, png_bytes, real_or_skip, synthetic_chest

from chalicelib.errors import PermanentError
from chalicelib.imaging import DecodeLimits, check_quality, decode_image
from chalicelib.imaging.errors import ImageRejected, ImageTooLarge, NotAnImage, UnsupportedImage
from chalicelib.imaging.quality import measure


@pytest.mark.shared
def test_every_real_film_decodes_upright_with_radiograph_polarity():
    for path in real_or_skip():
        # GIVEN a real chest radiograph (DICOM, PNG or JPEG, grey or grey-as-RGB)
        # WHEN it is decoded
        image = decode_image(path.read_bytes())
        # THEN it is grey in [0, 1], bone bright and air dark: the mediastinum is brighter than the lungs
        # and the abdomen below the diaphragm brighter than the upper lung zones (so not inverted, not upside down)
        stats = measure(image.pixels)
        assert image.pixels.dtype == np.float32
        assert image.pixels.min() >= 0.0, path.name
        assert image.pixels.max() <= 1.0, path.name
        assert stats.central_minus_lungs > 0.05, path.name
        assert stats.lower_minus_upper > 0.1, path.name
        assert image.colourfulness < 2.0, path.name
        check_quality(image)  # and the gate accepts it


@pytest.mark.shared
def test_the_real_dicom_is_jpeg_baseline_monochrome2_and_keeps_its_header_facts():
    data = dicom_path().read_bytes()
    image = decode_image(data)
    assert (image.format, image.width, image.height, image.photometric) == ("dicom", 1024, 1024, "MONOCHROME2")
    assert image.view_position == "PA"
    assert image.body_part == "CHEST"
    assert image.dataset.file_meta.TransferSyntaxUID == "1.2.840.10008.1.2.4.50"  # JPEG Baseline
    # the bright upper corners of a film are not how air looks: here the upper corners are dark (air)
    h, w = image.pixels.shape
    assert image.pixels[: h // 10, : w // 10].mean() < image.pixels[h // 3: 2 * h // 3, w // 2 - 20: w // 2 + 20].mean()


def _sixteen_bit_monochrome1(grey: np.ndarray, *, window: bool) -> bytes:
    """A 12-bit-in-16 MONOCHROME1 DICOM with Rescale (slope 2, intercept -1000), optionally a window."""
    stored = np.round((1.0 - grey) * 4000).astype(np.uint16)  # MONOCHROME1: high values are dark
    ds = pydicom.Dataset()
    ds.file_meta = pydicom.dataset.FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.MediaStorageSOPClassUID = pydicom.uid.UID("1.2.840.10008.5.1.4.1.1.1")
    ds.file_meta.MediaStorageSOPInstanceUID = pydicom.uid.generate_uid()
    ds.SOPClassUID, ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPClassUID, ds.file_meta.MediaStorageSOPInstanceUID
    ds.Modality, ds.PatientName, ds.PatientID = "CR", "Hong^Gildong", "P-0001"
    ds.Rows, ds.Columns = stored.shape
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME1"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
    ds.RescaleSlope, ds.RescaleIntercept = 2, -1000
    if window:  # the full rescaled range, so the window keeps every value
        ds.WindowCenter, ds.WindowWidth = 3000, 8001
    ds.PixelData = stored.tobytes()
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


@pytest.mark.parametrize("window", [True, False])
def test_sixteen_bit_monochrome1_with_rescale_and_window_decodes_to_the_same_picture(window):
    # GIVEN a chest image stored as 12-bit MONOCHROME1 with a Rescale and (optionally) a VOI window
    grey = synthetic_chest(400, seed=3)
    # WHEN decoded
    image = decode_image(_sixteen_bit_monochrome1(grey, window=window))
    # THEN the polarity is undone (bone bright again) and the picture matches the original
    assert image.bits == 12
    assert image.photometric == "MONOCHROME1"
    assert np.corrcoef(image.pixels.ravel(), grey.ravel())[0, 1] > 0.99
    assert measure(image.pixels).central_minus_lungs > 0.3


def test_sixteen_bit_png_equals_its_eight_bit_twin():
    grey8 = (synthetic_chest(300, seed=1) * 255).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(grey8, mode="L").save(buffer, format="PNG")
    eight = decode_image(buffer.getvalue())
    buffer = io.BytesIO()
    Image.fromarray(grey8.astype(np.uint16) * 257).save(buffer, format="PNG")
    sixteen = decode_image(buffer.getvalue())
    assert sixteen.bits == 16
    np.testing.assert_allclose(sixteen.pixels, eight.pixels, atol=1e-3)


@pytest.mark.shared
def test_a_large_jpeg_is_decoded_at_full_resolution_exactly_as_pillow_decodes_it():
    big = next((p for p in real_or_skip() if p.name.startswith("covid")), None)
    if big is None:
        pytest.skip("the 2373 px JPEG is absent")
    image = decode_image(big.read_bytes())
    assert (image.width, image.height) == (2373, 2373)
    # no decode-time shrink: every pixel is Pillow's full decode, colour kept beside the luma
    full = np.asarray(Image.open(big).convert("RGB"), dtype=np.float32) / 255
    assert image.rgb is not None
    np.testing.assert_allclose(image.rgb, full, atol=1e-6)
    luma = full @ np.array([0.299, 0.587, 0.114], np.float32)
    np.testing.assert_allclose(image.pixels, luma, atol=1e-5)


@pytest.mark.parametrize(("data", "error", "words"), [
    (b"", NotAnImage, "not a DICOM"),
    (b"hello, this is a text file and not an X-ray" * 10, NotAnImage, "not a DICOM"),
    (b"%PDF-1.7\n" + bytes(300), NotAnImage, "not a DICOM"),
    (png_bytes(synthetic_chest(300))[:400], NotAnImage, "truncated PNG"),
    (b"\xff\xd8\xff\xe0" + bytes(200), NotAnImage, "JPEG"),
    (bytes(128) + b"DICM" + b"\x02\x00\x10\x00garbage", NotAnImage, "DICOM"),
], ids=["empty", "text", "pdf", "truncated-png", "corrupt-jpeg", "corrupt-dicom"])
def test_corrupt_and_non_image_uploads_are_refused_with_a_reason(data, error, words):
    with pytest.raises(error) as caught:
        decode_image(data)
    assert isinstance(caught.value, PermanentError)
    assert isinstance(caught.value, ImageRejected)
    assert caught.value.code == "not_an_image"
    assert words in caught.value.message


def test_a_decompression_bomb_is_refused_before_its_pixels_are_decoded():
    # GIVEN a 10000×5000 bilevel PNG: a few kilobytes that would expand to 50 megapixels
    buffer = io.BytesIO()
    Image.new("1", (10_000, 5_000)).save(buffer, format="PNG")
    assert len(buffer.getvalue()) < 100_000
    # WHEN decoded with a 40-megapixel cap THEN it is refused as too large, with the numbers
    with pytest.raises(ImageTooLarge, match="10000×5000"):
        decode_image(buffer.getvalue(), DecodeLimits(max_pixels=40_000_000))


def test_pillow_bomb_check_is_an_error_too(monkeypatch):
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)
    with pytest.raises(ImageTooLarge, match="decompression bomb"):
        decode_image(png_bytes(synthetic_chest(300)), DecodeLimits(max_pixels=10**9))


def test_a_dicom_header_announcing_too_many_pixels_is_refused():
    grey = synthetic_chest(64)
    ds = pydicom.dcmread(io.BytesIO(_sixteen_bit_monochrome1(grey, window=False)))
    ds.Rows, ds.Columns = 30_000, 30_000
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    with pytest.raises(ImageTooLarge, match="30000×30000"):
        decode_image(buffer.getvalue())


def test_oversize_upload_bytes_are_refused():
    with pytest.raises(ImageTooLarge, match="bytes"):
        decode_image(png_bytes(synthetic_chest(300)), DecodeLimits(max_bytes=1000))


def test_a_dicom_without_pixels_is_not_an_image():
    ds = pydicom.dcmread(io.BytesIO(_sixteen_bit_monochrome1(synthetic_chest(64), window=False)))
    del ds.PixelData
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    with pytest.raises(NotAnImage, match="without pixel data"):
        decode_image(buffer.getvalue())


def test_an_unsupported_photometric_interpretation_is_named():
    ds = pydicom.dcmread(io.BytesIO(_sixteen_bit_monochrome1(synthetic_chest(64), window=False)))
    ds.PhotometricInterpretation = "PALETTE COLOR"
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    with pytest.raises(UnsupportedImage, match="PALETTE COLOR"):
        decode_image(buffer.getvalue())


def test_pydicom_warnings_quoting_identifying_values_are_not_logged(caplog, recwarn):
    # GIVEN a DICOM whose invalid UI value quotes a patient's name (pydicom warns with the value)
    ds = pydicom.dcmread(io.BytesIO(_sixteen_bit_monochrome1(synthetic_chest(300), window=False)))
    ds.PatientName = "Kim^Minsu"
    with pydicom.config.disable_value_validation():
        ds.StudyInstanceUID = "Kim Minsu"
    buffer = io.BytesIO()
    with pydicom.config.disable_value_validation():
        ds.save_as(buffer, enforce_file_format=True)
    caplog.set_level("DEBUG")
    # WHEN decoded
    image = decode_image(buffer.getvalue())
    _ = str(image.dataset.StudyInstanceUID)  # touching the value is what makes pydicom validate it
    # THEN it decodes and nothing with the name reached a log record or a warning
    assert image.width == 300
    assert "Minsu" not in caplog.text
    assert not [w for w in recwarn if "Minsu" in str(w.message)]
