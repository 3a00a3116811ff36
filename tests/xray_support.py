"""Helpers shared by the X-ray tests: real images from ../shared (or a skip), synthetic inputs, events."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import conftest
import numpy as np
import pytest
from PIL import Image

from local.xray_samples import CXR_DIR, png_bytes, real_images, synthetic_chest

__all__ = ["CXR_DIR", "colour_photo_jpeg", "dicom_bytes", "dicom_path", "png_bytes", "real_images", "s3_sqs_event",
           "synthetic_chest"]


def dicom_path() -> Path:
    found = [p for p in real_images() if p.suffix == ".dcm"]
    if not found:
        pytest.skip("../shared/data/cxr has no DICOM (the shared data folder is absent)")
    return found[0]


def dicom_bytes(pixels: np.ndarray, *, patient_name: str = "Hong^Gildong", patient_id: str = "P-0001") -> bytes:
    """An 8-bit MONOCHROME2 chest DICOM of ``pixels`` (float in [0, 1]) with a patient and fresh study, series
    and instance UIDs (no ../shared needed)."""
    import pydicom
    from pydicom.uid import ExplicitVRLittleEndian, generate_uid

    ds = pydicom.Dataset()
    ds.file_meta = pydicom.dataset.FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.MediaStorageSOPClassUID = pydicom.uid.UID("1.2.840.10008.5.1.4.1.1.1")  # CR image storage
    ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    ds.SOPClassUID, ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPClassUID, ds.file_meta.MediaStorageSOPInstanceUID
    ds.StudyInstanceUID, ds.SeriesInstanceUID = generate_uid(), generate_uid()
    ds.Modality, ds.PatientName, ds.PatientID = "CR", patient_name, patient_id
    stored = (np.clip(pixels, 0, 1) * 255).astype(np.uint8)
    ds.Rows, ds.Columns = stored.shape
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 8, 8, 7, 0
    ds.PixelData = stored.tobytes()
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


def real_or_skip() -> list[Path]:
    found = real_images()
    if not found:
        pytest.skip("../shared/data/cxr is absent")
    return found


def colour_photo_jpeg(size: int = 512) -> bytes:
    """A colourful outdoor-like photo: sky blue above, green below, a red object."""
    y, x = np.mgrid[0:size, 0:size] / size
    rgb = np.zeros((size, size, 3), np.float32)
    rgb[..., 0] = 0.2 + 0.6 * ((x - 0.6) ** 2 + (y - 0.6) ** 2 < 0.03)
    rgb[..., 1] = np.where(y > 0.55, 0.7, 0.5)
    rgb[..., 2] = np.where(y > 0.55, 0.2, 0.9)
    buffer = io.BytesIO()
    Image.fromarray((rgb * 255).astype(np.uint8), mode="RGB").save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


def s3_sqs_event(objects: list[dict[str, Any]], *, receive_count: int = 1, sent_ms: int = 1_763_800_000_000,
                 message_ids: list[str] | None = None) -> dict[str, Any]:
    """An SQS event carrying one S3 notification per upload ({bucket, key, etag, version_id, size})."""
    return conftest.s3_sqs_event(objects, template="s3_sqs/xray_upload.json", receive_count=receive_count,
                                 sent_ms=sent_ms, message_ids=message_ids)


def third_party_model() -> tuple[Any, bytes]:
    """A stand-in third-party classifier that differs from the reference one in every manifest rule:
    NHWC, 3 channels, fixed range [-1024, 1024], batch fixed at 1, 160×160, softmax over 2 labels,
    random (seeded) conv weights so every pixel matters."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    from chalicelib.inference.manifest import FixedRange, LabelSpec, ModelManifest
    from chalicelib.inference.registry import sha256_hex

    rng = np.random.default_rng(42)
    inits = [
        numpy_helper.from_array(rng.normal(0, 0.01, (4, 3, 5, 5)).astype(np.float32), "conv_w"),
        numpy_helper.from_array(rng.normal(0, 0.1, (4,)).astype(np.float32), "conv_b"),
        numpy_helper.from_array(rng.normal(0, 1.0, (4, 2)).astype(np.float32), "fc_w"),
        numpy_helper.from_array(np.array([0.1, -0.1], np.float32), "fc_b"),
    ]
    nodes = [
        helper.make_node("Transpose", ["pixels"], ["nchw"], perm=[0, 3, 1, 2]),
        helper.make_node("Conv", ["nchw", "conv_w", "conv_b"], ["conv"], strides=[4, 4]),
        helper.make_node("Tanh", ["conv"], ["act"]),
        helper.make_node("GlobalAveragePool", ["act"], ["pooled"]),
        helper.make_node("Flatten", ["pooled"], ["flat"]),
        helper.make_node("MatMul", ["flat", "fc_w"], ["mm"]),
        helper.make_node("Add", ["mm", "fc_b"], ["class_logits"]),
    ]
    graph = helper.make_graph(nodes, "third_party_cxr",
                              [helper.make_tensor_value_info("pixels", TensorProto.FLOAT, [1, 160, 160, 3])],
                              [helper.make_tensor_value_info("class_logits", TensorProto.FLOAT, [1, 2])],
                              initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    data = model.SerializeToString()
    manifest = ModelManifest(name="acme-cxr", version="2.1.0", sha256=sha256_hex(data), clinical=False,
                             description="test stand-in for a third-party model", input_name="pixels", layout="NHWC",
                             size=(160, 160), channels=3, normalisation=FixedRange(low=-1024, high=1024),
                             activation="softmax",
                             labels=(LabelSpec(name="finding_a", threshold=0.5, urgent_threshold=0.99),
                                     LabelSpec(name="finding_b", threshold=0.5)))
    return manifest, data


def manifest_rules_tensor(pixels: np.ndarray, size: tuple[int, int], low: float, high: float) -> np.ndarray:
    """The NHWC fixed-range rules written out independently of chalicelib.inference.preprocess."""
    height, width = size
    resized = np.asarray(Image.fromarray(pixels.astype(np.float32), mode="F").resize((width, height),
                                                                                       Image.Resampling.BILINEAR))
    scaled = low + resized * (high - low)
    return np.repeat(scaled[None, :, :, None], 3, axis=3).astype(np.float32)
