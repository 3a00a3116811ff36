"""Raw model outputs → probabilities → findings and triage, from the manifest (pure)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from chalicelib.inference.manifest import Activation, ModelManifest


def activate(raw: NDArray[np.float32], activation: Activation) -> NDArray[np.float32]:
    values = raw.astype(np.float64)
    if activation is Activation.SIGMOID:
        out = 1.0 / (1.0 + np.exp(-values))
    elif activation is Activation.SOFTMAX:
        shifted = np.exp(values - values.max(axis=1, keepdims=True))
        out = shifted / shifted.sum(axis=1, keepdims=True)
    else:
        out = values
    return np.clip(out, 0.0, 1.0).astype(np.float32)


@dataclass(frozen=True)
class FindingScore:
    label: str
    score: float
    threshold: float
    positive: bool
    urgent: bool


def findings(scores: NDArray[np.float32], manifest: ModelManifest) -> list[FindingScore]:
    out = []
    for spec, score in zip(manifest.labels, scores.tolist(), strict=True):
        urgent = spec.urgent_threshold is not None and score >= spec.urgent_threshold
        out.append(FindingScore(label=spec.name, score=round(float(score), 6), threshold=spec.threshold,
                                positive=score >= spec.threshold, urgent=urgent))
    return out


def triage(scored: list[FindingScore]) -> str:
    """``urgent`` when any finding passes its urgent threshold, ``abnormal`` when any is positive."""
    if any(f.urgent for f in scored):
        return "urgent"
    if any(f.positive for f in scored):
        return "abnormal"
    return "normal"
