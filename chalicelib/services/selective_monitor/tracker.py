"""A small IoU / centroid tracker: gives each person an id across frames so dwell time and falls
are measured per person, and a zone entry fires once per person, not once per frame.

Association is greedy on a cost that prefers box overlap and falls back to the distance between
centres relative to the box height (frames sampled at 1–5 fps move people further than they
overlap). The state is plain data (``to_dict``/``from_dict``) so it is stored between Lambda
invocations: containers are not sticky to a camera.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from chalicelib.video.detect import Detection

Box = tuple[float, float, float, float]  # x1, y1, x2, y2, normalised to the frame


@dataclass
class Track:
    track_id: int
    box: Box
    score: float
    label: str
    first_ms: int
    last_ms: int
    hits: int = 1
    misses: int = 0
    marks: dict[str, int] = field(default_factory=dict)  # per-rule timers: "<rule>" zone since, "<rule>:down" …
    fired: list[str] = field(default_factory=list)  # rule ids that already fired for this person (and stay armed off)

    @property
    def foot(self) -> tuple[float, float]:
        return (self.box[0] + self.box[2]) / 2, self.box[3]

    @property
    def aspect(self) -> float:
        """height / width of the box (people standing: ~2–3; lying: < 1)."""
        width = max(self.box[2] - self.box[0], 1e-6)
        return (self.box[3] - self.box[1]) / width

    def seen_at(self, t_ms: int) -> bool:
        return self.last_ms == t_ms


def iou(a: Box, b: Box) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def _size(box: Box) -> float:
    """The longer side: a person's height standing, their length lying (a fall keeps it)."""
    return max(box[2] - box[0], box[3] - box[1])


def _centre_distance(a: Box, b: Box) -> float:
    """Distance between centres in units of the larger box's longer side."""
    ax, ay, bx, by = (a[0] + a[2]) / 2, (a[1] + a[3]) / 2, (b[0] + b[2]) / 2, (b[1] + b[3]) / 2
    scale = max(_size(a), _size(b), 1e-6)
    return float(((ax - bx) ** 2 + (ay - by) ** 2) ** 0.5 / scale)


def normalise(det: Detection, width: int, height: int) -> Box:
    return (min(max(det.x1 / width, 0.0), 1.0), min(max(det.y1 / height, 0.0), 1.0),
            min(max(det.x2 / width, 0.0), 1.0), min(max(det.y2 / height, 0.0), 1.0))


@dataclass
class Tracker:
    min_iou: float = 0.2
    max_centre_distance: float = 0.6  # box heights (a walker moves ~0.4 of their height in 0.5 s)
    max_size_ratio: float = 1.6  # a match may not grow or shrink the box's longer side more than this
    max_gap_ms: int = 2000  # a person unseen this long is forgotten
    next_id: int = 1
    tracks: list[Track] = field(default_factory=list)

    def update(self, t_ms: int, detections: Sequence[tuple[Box, float, str]]) -> list[Track]:
        """Associate one frame's detections (normalised box, score, label); returns the live tracks."""
        self.tracks = [t for t in self.tracks if t_ms - t.last_ms <= self.max_gap_ms]
        pairs: list[tuple[float, int, int]] = []
        for ti, track in enumerate(self.tracks):
            for di, (box, _, label) in enumerate(detections):
                if label != track.label:
                    continue
                sizes = (_size(track.box), _size(box))
                if max(sizes) > self.max_size_ratio * max(min(sizes), 1e-6):
                    continue
                overlap = iou(track.box, box)
                distance = _centre_distance(track.box, box)
                if overlap >= self.min_iou:
                    pairs.append((1.0 - overlap, ti, di))
                elif distance <= self.max_centre_distance:
                    pairs.append((1.0 + distance, ti, di))  # always after any overlapping pair
        pairs.sort()
        used_tracks: set[int] = set()
        used_dets: set[int] = set()
        for _, ti, di in pairs:
            if ti in used_tracks or di in used_dets:
                continue
            used_tracks.add(ti)
            used_dets.add(di)
            track = self.tracks[ti]
            track.box, track.score, _ = detections[di]
            track.last_ms = t_ms
            track.hits += 1
            track.misses = 0
        for ti, track in enumerate(self.tracks):
            if ti not in used_tracks:
                track.misses += 1
        for di, (box, score, label) in enumerate(detections):
            if di not in used_dets:
                self.tracks.append(Track(track_id=self.next_id, box=box, score=score, label=label,
                                         first_ms=t_ms, last_ms=t_ms))
                self.next_id += 1
        return self.tracks

    def visible(self, t_ms: int, min_hits: int = 1) -> list[Track]:
        """Tracks matched in the frame at ``t_ms`` and seen at least ``min_hits`` times."""
        return [t for t in self.tracks if t.seen_at(t_ms) and t.hits >= min_hits]

    def to_dict(self) -> dict[str, Any]:
        return {"next_id": self.next_id, "tracks": [asdict(t) for t in self.tracks],
                "min_iou": self.min_iou, "max_centre_distance": self.max_centre_distance,
                "max_gap_ms": self.max_gap_ms}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Tracker:
        tracks = [Track(**{**t, "box": tuple(t["box"]), "marks": dict(t.get("marks", {})),
                           "fired": list(t.get("fired", []))}) for t in data.get("tracks", [])]
        return cls(min_iou=float(data.get("min_iou", 0.2)),
                   max_centre_distance=float(data.get("max_centre_distance", 0.6)),
                   max_gap_ms=int(data.get("max_gap_ms", 2000)), next_id=int(data.get("next_id", 1)), tracks=tracks)
