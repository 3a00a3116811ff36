"""Every common DICOM transfer syntax decodes: a real radiograph encoded into each, by pydicom's encoders or
dcmtk's ``dcmcjpeg`` (what pydicom cannot encode), then read through ``decode_image``."""

from __future__ import annotations

import io
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pydicom
import pytest
from PIL import Image
from pydicom import uid
from pydicom.dataset import Dataset, FileMetaDataset

from chalicelib.imaging import decode_image
from local.xray_samples import CXR_DIR

RADIOGRAPH = CXR_DIR / "00000001_000.png"
# name → (transfer syntax, bits stored, lossless)
SYNTAXES = {
    "jpeg-baseline": (uid.JPEGBaseline8Bit, 8, False),
    "jpeg-extended-12bit": (uid.JPEGExtended12Bit, 12, False),
    "jpeg-lossless-process14": (uid.JPEGLossless, 12, True),
    "jpeg-lossless-sv1": (uid.JPEGLosslessSV1, 12, True),
    "jpeg-ls-lossless": (uid.JPEGLSLossless, 12, True),
    "jpeg-ls-near-lossless": (uid.JPEGLSNearLossless, 12, False),
    "jpeg2000-lossless": (uid.JPEG2000Lossless, 12, True),
    "jpeg2000-lossy": (uid.JPEG2000, 12, False),
    "rle-lossless": (uid.RLELossless, 12, True),
    "deflated-explicit-le": (uid.DeflatedExplicitVRLittleEndian, 12, True),
}
_DCMCJPEG = {uid.JPEGBaseline8Bit: ["+eb"], uid.JPEGExtended12Bit: ["+ee"],
             uid.JPEGLossless: ["+el", "+sv", "6"], uid.JPEGLosslessSV1: ["+e1"]}


def _plain(bits: int) -> Dataset:
    """The radiograph as an uncompressed CR image of ``bits`` stored bits (8-bit film values scaled up)."""
    if not RADIOGRAPH.exists():
        pytest.skip("../shared/data/cxr is absent")
    film = np.asarray(Image.open(RADIOGRAPH).convert("L"), dtype=np.uint16)
    stored = film << (bits - 8)
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = uid.ExplicitVRLittleEndian
    ds.SOPClassUID = uid.UID("1.2.840.10008.5.1.4.1.1.1")
    ds.SOPInstanceUID = uid.generate_uid()
    ds.file_meta.MediaStorageSOPClassUID, ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPClassUID, ds.SOPInstanceUID
    ds.Modality, ds.PatientName, ds.PatientID = "CR", "Test^Film", "T-1"
    ds.Rows, ds.Columns = stored.shape
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16 if bits > 8 else 8, bits, bits - 1, 0
    ds.WindowCenter, ds.WindowWidth = 1 << (bits - 1), 1 << bits  # the full range: same window for every syntax
    ds.PixelData = stored.astype(np.uint16 if bits > 8 else np.uint8).tobytes()
    return ds


def _bytes(ds: Dataset) -> bytes:
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


def _encode(ds: Dataset, syntax: uid.UID, tmp: Path) -> bytes:
    if syntax in _DCMCJPEG:  # pydicom 3 has no JPEG (10918) encoder: dcmtk's, the field's reference tool
        tool = shutil.which("dcmcjpeg")
        if tool is None:
            pytest.fail("dcmcjpeg (dcmtk) is missing: `make system-deps` installs it")
        source, target = tmp / "in.dcm", tmp / "out.dcm"
        source.write_bytes(_bytes(ds))
        subprocess.run([tool, *_DCMCJPEG[syntax], str(source), str(target)], check=True, capture_output=True)
        return target.read_bytes()
    if syntax == uid.DeflatedExplicitVRLittleEndian:
        ds.file_meta.TransferSyntaxUID = syntax
        return _bytes(ds)
    options: dict[str, object] = {}
    if syntax == uid.JPEGLSNearLossless:
        options["jls_error"] = 3
    elif syntax == uid.JPEG2000:
        options["j2k_cr"] = [15]
    ds.compress(syntax, **options)  # type: ignore[arg-type]
    return _bytes(ds)


@pytest.mark.shared
@pytest.mark.parametrize("name", list(SYNTAXES))
def test_the_radiograph_decodes_in_every_common_transfer_syntax(name, tmp_path):
    syntax, bits, lossless = SYNTAXES[name]
    # GIVEN the real radiograph, uncompressed, and the same film encoded in the transfer syntax
    reference = decode_image(_bytes(_plain(bits)))
    encoded = _encode(_plain(bits), syntax, tmp_path)
    assert pydicom.dcmread(io.BytesIO(encoded), stop_before_pixels=True).file_meta.TransferSyntaxUID == syntax
    # WHEN it is decoded by the reader's decoder
    image = decode_image(encoded)
    # THEN it is the same film at full resolution: identical pixels when lossless, close ones when lossy
    assert (image.width, image.height, image.bits) == (reference.width, reference.height, bits)
    assert image.pixels.shape == reference.pixels.shape == (512, 512)
    error = np.abs(image.pixels - reference.pixels)
    if lossless:
        assert float(error.max()) == 0.0
    else:
        assert float(error.mean()) < 0.01
        assert float(np.corrcoef(image.pixels.ravel(), reference.pixels.ravel())[0, 1]) > 0.995
