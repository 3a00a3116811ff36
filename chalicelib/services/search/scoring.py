"""How a detected person scores against the query: appearance similarity and clothing colours."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from numpy.typing import NDArray

from chalicelib.models.search import SearchQuery
from chalicelib.video import colors

APPEARANCE_WEIGHT = 0.75  # when both a photo and colours are given


def appearance(query: NDArray[np.float32], embeddings: NDArray[np.float32]) -> NDArray[np.float32]:
    """Best cosine similarity of each embedding (N×D) to any query embedding (Q×D), clipped to 0..1."""
    if query.size == 0 or embeddings.size == 0:
        return np.zeros(len(embeddings), dtype=np.float32)
    best: NDArray[np.float32] = np.clip((embeddings @ query.T).max(axis=1), 0.0, 1.0).astype(np.float32)
    return best


def color_match(query: SearchQuery, upper: Mapping[str, float], lower: Mapping[str, float]) -> float | None:
    """Mean match of the asked colours (``None`` when the query names none)."""
    parts = []
    if query.upper_color is not None:
        parts.append(colors.match(upper, query.upper_color))
    if query.lower_color is not None:
        parts.append(colors.match(lower, query.lower_color))
    return float(np.mean(parts)) if parts else None


def combine(appearance_score: float | None, color_score: float | None) -> float:
    if appearance_score is None and color_score is None:
        return 0.0
    if appearance_score is None:
        return float(color_score or 0.0)
    if color_score is None:
        return appearance_score
    return APPEARANCE_WEIGHT * appearance_score + (1 - APPEARANCE_WEIGHT) * color_score
