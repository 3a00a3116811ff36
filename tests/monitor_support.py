"""Helpers of the selective-monitoring tests: vtest.avi frames and clips, hand labels, S3-via-SQS events."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import conftest
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
VTEST = SHARED / "data" / "video" / "vtest.avi"
YOLOX = SHARED / "models" / "yolox_nano_coco.onnx"
LABELS = Path(__file__).resolve().parent / "data" / "monitor_vtest_labels.json"
VTEST_FPS = 10
MISSING_FOOTAGE = f"needs {VTEST} and {YOLOX} (the shared data and models beside the repository)"

Box = tuple[float, float, float, float]
FrameDetections = list[tuple[Box, float, str]]


def labels() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(LABELS.read_text())
    return data


def zone(name: str) -> list[tuple[float, float]]:
    return [(float(x), float(y)) for x, y in labels()["zones"][name]["polygon"]]


def lawn() -> list[tuple[float, float]]:
    return zone("lawn")


def vtest_frames(every: int = 1, start: int = 0, stop: int | None = None) -> Iterator[tuple[int, np.ndarray]]:
    """(frame index, BGR frame) of vtest.avi, every ``every``-th frame in [start, stop)."""
    import av

    with av.open(str(VTEST)) as container:
        for index, frame in enumerate(container.decode(video=0)):
            if stop is not None and index >= stop:
                return
            if index >= start and (index - start) % every == 0:
                yield index, frame.to_ndarray(format="bgr24")


def clip_bytes(start: int, stop: int, *, fmt: str = "mp4") -> bytes:
    """Frames [start, stop) of vtest.avi re-encoded as a 10 fps clip (what a camera gateway uploads)."""
    import av

    out = io.BytesIO()
    with av.open(out, mode="w", format=fmt) as container:
        stream = container.add_stream("mpeg4", rate=VTEST_FPS)
        stream.width, stream.height, stream.pix_fmt = 768, 576, "yuv420p"
        for _, frame in vtest_frames(start=start, stop=stop):
            for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="bgr24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return out.getvalue()


def jpeg_of(frame: np.ndarray) -> bytes:
    import cv2

    ok, data = cv2.imencode(".jpg", frame)
    assert ok
    return bytes(data.tobytes())


@cache
def vtest_detections(every: int) -> tuple[tuple[int, tuple[tuple[Box, float, str], ...]], ...]:
    """The shared YOLOX detector over vtest.avi every ``every`` frames: (frame index, normalised detections)."""
    from chalicelib.services.selective_monitor.tracker import normalise
    from chalicelib.video.detect import build_detector

    detector = build_detector("yolox", YOLOX, threads=2)
    out = []
    for index, frame in vtest_frames(every):
        found = detector.detect([frame])[0]
        out.append((index, tuple((normalise(d, 768, 576), float(d.score), d.label) for d in found)))
    return tuple(out)


def s3_sqs_event(objects: list[dict[str, Any]], *, receive_count: int = 1) -> dict[str, Any]:
    """An SQS event carrying one S3 notification per monitor object ({bucket, key, etag, size})."""
    return conftest.s3_sqs_event(objects, template="s3_sqs/monitor_clip.json", receive_count=receive_count)


def upload(resources: Any, key: str, data: bytes) -> dict[str, Any]:
    """Put ``data`` in the media bucket; the object as a notification names it."""
    store = resources.store("media")
    store.put(key, data)
    head = resources.client("s3").head_object(Bucket=store.name, Key=key)
    return {"bucket": store.name, "key": key, "etag": head["ETag"].strip('"'), "size": len(data)}


def labelled_rules(**overrides: Any) -> dict[str, Any]:
    """The camera configuration the labels were made for (every labelled rule), plus a fall rule."""
    rules = [{**rule["config"], "rule_id": rule_id, "zone": zone(rule["config"]["zone"])}
             for rule_id, rule in labels()["rules"].items()]
    return {"rules": [*rules, {"kind": "person_down", "rule_id": "fall"}], **overrides}


def lawn_rules(**overrides: Any) -> dict[str, Any]:
    """Only the lawn's rules (intrusion, 15 s loitering) and a fall rule: what the clip tests use."""
    config = labelled_rules(**overrides)
    config["rules"] = [r for r in config["rules"] if r["rule_id"] in ("lawn", "lawn-loiter", "fall")]
    return config


def score_against_labels(fired: dict[str, list[int]], review_frames: int) -> dict[str, dict[str, Any]]:
    """Per labelled rule id: how many hand-labelled events it caught.

    ``found``: the rule fired inside the event's frame range. ``surfaced``: found, or the event began
    while the camera was already surfaced by an earlier firing of the same rule (the cooldown held the
    repeat back, but the operator was looking: ``review_frames`` after each firing). False alarms are
    firings outside every occupied or ambiguous range; duplicates, extra firings while occupied."""
    out: dict[str, dict[str, Any]] = {}
    for rule_id, truth in labels()["rules"].items():
        frames = fired.get(rule_id, [])
        required = [e["frames"] for e in truth["events"]]
        found = [any(lo <= f <= hi for f in frames) for lo, hi in required]
        surfaced = [hit or any(f <= lo <= f + review_frames for f in frames)
                    for hit, (lo, _) in zip(found, required, strict=True)]
        ambiguous = [f for f in frames if any(lo <= f <= hi for lo, hi in (a["frames"] for a in truth["ambiguous"]))]
        occupied = [f for f in frames if f not in ambiguous and any(lo <= f <= hi for lo, hi in truth["occupied"])]
        false_alarms = [f for f in frames if f not in ambiguous and f not in occupied]
        out[rule_id] = {"labelled": len(required), "found": sum(found), "surfaced": sum(surfaced),
                        "recall": sum(surfaced) / len(required), "strict_recall": sum(found) / len(required),
                        "fired": frames, "false_alarms": false_alarms, "ambiguous": ambiguous,
                        "duplicates": max(0, len(occupied) - sum(found))}
    return out
