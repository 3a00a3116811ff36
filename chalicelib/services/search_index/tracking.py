"""People across the sampled frames of one segment: greedy association by place, size and appearance.

A detection continues a track seen at most ``max_gap_ms`` earlier when its box centre moved plausibly
(≤ ``max_px_per_s`` per second, plus slack), it is about as tall, and its re-id embedding is close to the
track's (cosine ≥ ``min_similarity``). Pairs are taken best first, so two people crossing keep their tracks
when they look different. A segment's tracks end at its boundary; the search joins nothing across segments
(each is a sighting of its own, and the route groups them).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from chalicelib.video.detect import Detection, Frame


@dataclass
class Observation:
    time_ms: int
    detection: Detection
    embedding: NDArray[np.float32]
    upper: NDArray[np.float64]  # colour shares
    lower: NDArray[np.float64]


@dataclass
class Tracklet:
    observations: list[Observation] = field(default_factory=list)
    best_crop: Frame | None = None
    best_area: float = -1.0

    @property
    def last(self) -> Observation:
        return self.observations[-1]


def _centre(d: Detection) -> tuple[float, float]:
    return (d.x1 + d.x2) / 2, (d.y1 + d.y2) / 2


class SegmentTracker:
    def __init__(self, *, max_gap_ms: int = 1_500, max_px_per_s: float = 250.0,
                 min_similarity: float = 0.5) -> None:
        self._max_gap_ms = max_gap_ms
        self._max_px_per_s = max_px_per_s
        self._min_similarity = min_similarity
        self.tracks: list[Tracklet] = []

    def update(self, observations: list[Observation], crops: list[Frame]) -> None:
        """One sampled frame's people (and their crops, for the thumbnail of each track)."""
        pairs: list[tuple[float, int, int]] = []
        for ti, track in enumerate(self.tracks):
            last = track.last
            dt = observations[0].time_ms - last.time_ms if observations else 0
            if dt <= 0 or dt > self._max_gap_ms:
                continue
            for oi, obs in enumerate(observations):
                (x0, y0), (x1, y1) = _centre(last.detection), _centre(obs.detection)
                shift = ((x1 - x0) ** 2 + (y1 - y0) ** 2) ** 0.5
                ratio = obs.detection.height / max(last.detection.height, 1.0)
                similarity = float(last.embedding @ obs.embedding)
                if shift > self._max_px_per_s * dt / 1000 + 20 or not 0.75 <= ratio <= 1.33 \
                        or similarity < self._min_similarity:
                    continue
                pairs.append((similarity - shift / 500.0, ti, oi))
        used_tracks: set[int] = set()
        used_obs: set[int] = set()
        for _, ti, oi in sorted(pairs, reverse=True):
            if ti in used_tracks or oi in used_obs:
                continue
            used_tracks.add(ti)
            used_obs.add(oi)
            self._extend(self.tracks[ti], observations[oi], crops[oi])
        for oi, obs in enumerate(observations):
            if oi not in used_obs:
                track = Tracklet()
                self.tracks.append(track)
                self._extend(track, obs, crops[oi])

    @staticmethod
    def _extend(track: Tracklet, obs: Observation, crop: Frame) -> None:
        track.observations.append(obs)
        area = obs.detection.width * obs.detection.height * obs.detection.score
        if area > track.best_area:  # the largest, surest view makes the thumbnail
            track.best_area, track.best_crop = area, crop.copy()
