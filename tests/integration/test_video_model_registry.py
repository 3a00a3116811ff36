"""The video models in the registry (moto S3): registered with a hash, given a dynamic input (batch, height, width),
refused when tampered with, and giving the same detections as the file they came from."""

from __future__ import annotations

import numpy as np
import pytest

from chalicelib.inference.registry import ModelError, ModelIntegrityError
from chalicelib.video.detect import build_detector
from chalicelib.video.models import DETECTOR, REID, SHARED_MODELS, load_video_model, register_video_models, video_registry

pytestmark = pytest.mark.skipif(not (SHARED_MODELS / DETECTOR.file).is_file(), reason="needs ../shared/models")


def test_registering_stores_both_roles_with_hashes_and_is_idempotent(aws):
    store = aws.store("models")
    first = register_video_models(store, SHARED_MODELS)
    again = register_video_models(store, SHARED_MODELS)
    assert [m.role for m in first] == ["detector", "reid"] and first == again
    registry = video_registry(store)
    for spec, manifest in zip((DETECTOR, REID), first, strict=True):
        assert registry.active(spec.task) == (manifest.name, manifest.version)
        assert manifest.version == manifest.sha256[:12]
    detector, reid = first
    assert detector.dynamic_input and not reid.dynamic_input
    # the registered detector is the prepared graph, not the shipped file
    assert detector.sha256 != __import__("hashlib").sha256((SHARED_MODELS / DETECTOR.file).read_bytes()).hexdigest()


def test_a_tampered_model_is_refused(aws):
    store = aws.store("models")
    detector, _ = register_video_models(store, SHARED_MODELS)
    store.put(f"models/{detector.name}/{detector.version}/model.onnx", b"not the registered bytes")
    with pytest.raises(ModelIntegrityError):
        load_video_model(DETECTOR, store=store, shared=None)


def test_a_model_active_under_the_wrong_role_is_refused(aws):
    store = aws.store("models")
    _, reid = register_video_models(store, SHARED_MODELS)
    video_registry(store).activate(DETECTOR.task, reid.name, reid.version)
    with pytest.raises(ModelError, match="reid model"):
        load_video_model(DETECTOR, store=store, shared=None)


def test_nothing_registered_and_nothing_shipped_means_no_model(aws):
    assert load_video_model(REID, store=aws.store("models"), shared=None) is None


def test_the_dynamic_detector_runs_at_the_frames_own_aspect_and_still_finds_the_people(aws):
    # GIVEN the registered (dynamic) detector and the shipped fixed-416 file
    from search_support import iou, people, sampled_frames

    register_video_models(aws.store("models"), SHARED_MODELS)
    loaded = load_video_model(DETECTOR, store=aws.store("models"), shared=None, threads=1)
    assert loaded is not None and loaded.source.startswith("models/yolox-nano-coco/")
    dynamic = build_detector("yolox", session=loaded.session, thresholds={"person": 0.4})
    fixed = build_detector("yolox", SHARED_MODELS / DETECTOR.file, threads=1, thresholds={"person": 0.4})
    frames = sampled_frames(2.0)
    # THEN a 768×576 frame runs at 320×416 on the dynamic graph, 416×416 on the fixed one
    assert dynamic.input_shape(frames[0].image) == (320, 416)  # type: ignore[attr-defined]
    assert fixed.input_shape(frames[0].image) == (416, 416)  # type: ignore[attr-defined]
    # AND both find (IoU ≥ 0.5) nearly every hand-checked person box of the sampled frames
    index = {round(f.time_ms / 100): i for i, f in enumerate(frames)}
    truths = [(index[n], box) for p in people().values() for n, box in p.boxes.items() if n in index]
    wanted = sorted({i for i, _ in truths})
    for detector in (dynamic, fixed):
        found = dict(zip(wanted, detector.detect([frames[i].image for i in wanted]), strict=True))
        recall = sum(any(iou(box, (d.x1, d.y1, d.x2, d.y2)) >= 0.5 for d in found[i]) for i, box in truths) / len(truths)
        assert len(truths) > 300 and recall >= 0.97, (detector, recall)


def test_the_square_input_of_the_dynamic_graph_equals_the_fixed_graph(aws):
    register_video_models(aws.store("models"), SHARED_MODELS)
    dynamic = load_video_model(DETECTOR, store=aws.store("models"), shared=None, threads=1)
    fixed = load_video_model(DETECTOR, store=None, shared=None)
    assert dynamic is not None and fixed is None
    import onnxruntime as ort

    original = ort.InferenceSession(str(SHARED_MODELS / DETECTOR.file), providers=["CPUExecutionProvider"])
    x = np.random.default_rng(1).uniform(0, 255, (1, 3, 416, 416)).astype(np.float32)
    name = original.get_inputs()[0].name
    np.testing.assert_allclose(dynamic.session.run(None, {name: x})[0], original.run(None, {name: x})[0],
                               rtol=1e-4, atol=1e-4)


def test_the_admin_cli_registers_the_video_models(aws, capsys):
    from chalicelib import cli

    assert cli.main(["models", "register-video", "--dir", str(SHARED_MODELS)]) == 0
    printed = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in printed] == ["detector", "reid"]
    assert video_registry(aws.store("models")).active(REID.task) is not None


def test_frames_of_one_call_run_as_one_batch_with_the_same_detections(aws):
    # GIVEN the registered detector (symbolic batch) and frames of two camera sizes, interleaved
    import cv2
    from search_support import sampled_frames

    register_video_models(aws.store("models"), SHARED_MODELS)
    loaded = load_video_model(DETECTOR, store=aws.store("models"), shared=None, threads=1)
    assert loaded is not None
    detector = build_detector("yolox", session=loaded.session)
    assert detector.batched  # type: ignore[attr-defined]
    big = [f.image for f in sampled_frames(2.0)[60:64]]
    small = [np.asarray(cv2.resize(f, (640, 360)), dtype=np.uint8) for f in big]  # a 16:9 camera → 256×416
    frames = [x for pair in zip(big, small, strict=True) for x in pair]
    runs: list[tuple[int, ...]] = []
    session = loaded.session

    class RecordingSession:  # the real session, noting the input shape of each run
        def run(self, outputs, feed):
            runs.append(next(iter(feed.values())).shape)
            return session.run(outputs, feed)

    detector._session = RecordingSession()  # type: ignore[attr-defined]
    # WHEN detected in one call
    together = detector.detect(frames)
    # THEN one run per input shape, and each frame's people are what it gets on its own
    assert sorted(runs) == [(4, 3, 256, 416), (4, 3, 320, 416)]
    alone = [detector.detect([f])[0] for f in frames]
    for a, b in zip(together, alone, strict=True):
        assert [d.label for d in a] == [d.label for d in b]
        np.testing.assert_allclose([(d.x1, d.y1, d.x2, d.y2, d.score) for d in a],
                                   [(d.x1, d.y1, d.x2, d.y2, d.score) for d in b], rtol=1e-3, atol=0.05)
    assert sum(len(a) for a in together) > 10
