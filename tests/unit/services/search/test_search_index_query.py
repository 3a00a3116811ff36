"""The index search answers exactly as a scan of every stored record would, and its stored vectors score within
a few thousandths of the float32 ones (pure, a directory store)."""

from __future__ import annotations

import numpy as np
import pytest
from search_support import DirectoryStore

from chalicelib.models.search import SearchQuery
from chalicelib.services.search_index.parquet import quantise
from chalicelib.services.search_index.query import search_index
from chalicelib.services.search_index.records import HOUR_MS, INDEX_PREFIX, ModelTag, TrackRecord
from chalicelib.services.search_index.store import IndexStore
from chalicelib.video.colors import COLOR_NAMES

T0 = 1_800_000_000_000 - 1_800_000_000_000 % HOUR_MS
DIM = 512
TAG = ModelTag("osnet", "test")


def _records(rng: np.random.Generator, camera: str, hour: int, query: np.ndarray, n: int) -> list[TrackRecord]:
    """``n`` people over an hour, alike to the query by a spread of degrees (many scores within a code's error
    of each other), none continuing another (unrelated neighbours, 20 s apart)."""
    out = []
    for k in range(n):
        v = rng.uniform(0.0, 0.9) * query + rng.normal(0.0, 1.0, DIM).astype(np.float32) / np.sqrt(DIM)
        start = T0 + hour * HOUR_MS + 20_000 * k
        shares = rng.dirichlet(np.ones(len(COLOR_NAMES)))
        out.append(TrackRecord(camera_id=camera, segment_start_ms=start - start % 10_000, track_id=k, start_ms=start,
                               end_ms=start + 3_000, best_ms=start, path=((start, 10.0, 10.0, 50.0, 130.0),),
                               embedding=(v / np.linalg.norm(v)).astype(np.float32), upper=tuple(shares),
                               lower=tuple(shares[::-1]), thumbnail_key=f"{INDEX_PREFIX}/thumbs/{camera}/{start}/0.jpg"))
    return out


def _stored(v: np.ndarray) -> np.ndarray:
    """The vector as the index stores it: per-row symmetric int8 codes and a scale (peak / 127), written out here."""
    scale = np.abs(v).max() / 127.0
    return np.asarray(np.clip(np.rint(v / scale), -127, 127) * scale, dtype=np.float32)


def _exact(records: list[TrackRecord], query: np.ndarray, upper: str | None,
           stored: bool = True) -> list[tuple[float, str, int]]:
    """Every record's score computed from its stored (or float32) vector, by the scoring rule written out here."""
    from chalicelib.video.colors import match_many

    scored = []
    for r in records:
        look = float(np.clip((_stored(r.embedding) if stored else r.embedding) @ query, 0.0, 1.0))
        if upper is None:
            score = look
        else:
            color = float(match_many(np.asarray([r.upper], np.float16), upper)[0])
            score = 0.75 * look + 0.25 * color
        scored.append((score, r.camera_id, r.start_ms))
    return sorted(scored, reverse=True)


@pytest.mark.parametrize("upper", [None, "red"])
def test_the_search_finds_the_same_people_with_the_same_scores_as_a_scan_of_every_record(tmp_path, upper):
    # GIVEN 4 cameras × 2 hours of 150 people each, scores packed closely together
    rng = np.random.default_rng(7)
    query = rng.normal(size=DIM).astype(np.float32)
    query /= np.linalg.norm(query)
    index = IndexStore(DirectoryStore(tmp_path), readers=4)
    everyone = []
    for camera in ("A", "B", "C", "D"):
        for hour in (0, 1):
            records = _records(rng, camera, hour, query, 150)
            everyone += records
            for segment in sorted({r.segment_start_ms for r in records}):
                index.write_segment(TAG, camera, segment, [r for r in records if r.segment_start_ms == segment],
                                    dim=DIM)
            index.compact(TAG, camera, T0 + hour * HOUR_MS, dim=DIM)
    # WHEN the index is searched for the best 20 (each camera may give all of them)
    answer = search_index(index, TAG, {c: (T0, T0 + 2 * HOUR_MS) for c in "ABCD"},
                          SearchQuery(embeddings=[query.tolist()], upper_color=upper, top_k=100, min_score=0.0),
                          limit=20)
    # THEN the hits are the exact scan's best 20, in its order, with its scores
    expected = _exact(everyone, query, upper)[:20]
    assert [(h.track.camera_id, h.track.start_ms) for h in answer.hits] == [(c, t) for _, c, t in expected]
    assert [h.track.score for h in answer.hits] == pytest.approx([round(s, 4) for s, _, _ in expected], abs=1e-4)
    assert expected[0][0] - expected[-1][0] < 0.2  # (the scores are close: pruning by the best so far matters)
    # AND the stored vectors score as the float32 ones within 0.003 (the quantisation's error)
    full = {(c, t): score for score, c, t in _exact(everyone, query, upper, stored=False)}
    assert max(abs(s - full[(c, t)]) for s, c, t in _exact(everyone, query, upper)) < 0.003


def test_codes_are_within_half_a_step_of_the_vector():
    x = np.random.default_rng(3).normal(size=(50, DIM)).astype(np.float32)
    codes, scales = quantise(x)
    assert codes.dtype == np.int8 and np.abs(codes).max() == 127
    assert np.all(np.abs(codes * scales[:, None] - x) <= scales[:, None] / 2 + 1e-7)


def test_a_long_window_reads_every_hour_of_it_and_none_outside(tmp_path):
    # GIVEN one camera with 3 people in each of 10 hours, the last 2 parts of them left uncompacted
    rng = np.random.default_rng(11)
    query = rng.normal(size=DIM).astype(np.float32)
    query /= np.linalg.norm(query)
    index = IndexStore(DirectoryStore(tmp_path), readers=4)
    for hour in range(10):
        records = _records(rng, "A", hour, query, 3)
        for segment in sorted({r.segment_start_ms for r in records}):
            index.write_segment(TAG, "A", segment, [r for r in records if r.segment_start_ms == segment], dim=DIM)
        if hour < 8:
            index.compact(TAG, "A", T0 + hour * HOUR_MS, dim=DIM)
    # WHEN hours 1 to 8 are searched (a window long enough to list the camera's day at once)
    answer = search_index(index, TAG, {"A": (T0 + HOUR_MS, T0 + 9 * HOUR_MS)},
                          SearchQuery(embeddings=[query.tolist()], top_k=100, min_score=0.0))
    # THEN every person of those hours is found, and nobody of hours 0 and 9
    assert sorted({(h.track.start_ms - T0) // HOUR_MS for h in answer.hits}) == list(range(1, 9))
    assert len(answer.hits) == 8 * 3


class _CountingStore(DirectoryStore):  # type: ignore[misc]  # (search_support is untyped)
    def __init__(self, root) -> None:
        super().__init__(root)
        self.gets = 0

    def get(self, key: str) -> bytes:
        self.gets += 1
        return bytes(super().get(key))


def test_a_warm_store_answers_the_same_search_again_without_reading_a_file(tmp_path):
    # GIVEN 2 cameras × 2 compacted hours, searched once
    rng = np.random.default_rng(5)
    query = rng.normal(size=DIM).astype(np.float32)
    query /= np.linalg.norm(query)
    objects = _CountingStore(tmp_path)
    index = IndexStore(objects, readers=4)
    for camera in ("A", "B"):
        for hour in (0, 1):
            records = _records(rng, camera, hour, query, 40)
            index.write_segment(TAG, camera, records[0].segment_start_ms, records, dim=DIM)
            index.compact(TAG, camera, T0 + hour * HOUR_MS, dim=DIM)
    search = SearchQuery(embeddings=[query.tolist()], top_k=100, min_score=0.0)
    first = search_index(index, TAG, {c: (T0, T0 + 2 * HOUR_MS) for c in "AB"}, search, limit=20)
    objects.gets = 0
    # WHEN it is searched again
    again = search_index(index, TAG, {c: (T0, T0 + 2 * HOUR_MS) for c in "AB"}, search, limit=20)
    # THEN the same answer comes from the columns kept decoded: no file is read
    assert [(h.track.camera_id, h.track.start_ms, h.path) for h in again.hits] == \
        [(h.track.camera_id, h.track.start_ms, h.path) for h in first.hits]
    assert len(first.hits) == 20 and objects.gets == 0
