"""Index partitions in S3 (moto): parts per segment, hourly compaction, model versions kept apart, ranking."""

from __future__ import annotations

import numpy as np
import pytest

from chalicelib.models.search import SearchQuery
from chalicelib.services.search_index.query import search_index
from chalicelib.services.search_index.records import INDEX_PREFIX, ModelTag, TrackRecord, hour_prefix
from chalicelib.services.search_index.store import IndexStore
from chalicelib.video.colors import COLOR_NAMES

T0 = 1_800_000_000_000 - 1_800_000_000_000 % 3_600_000  # an hour boundary
DIM = 8
V1, V2 = ModelTag("osnet", "aaaa"), ModelTag("osnet", "bbbb")


def _unit(seed: int) -> np.ndarray:
    v = np.random.default_rng(seed).normal(size=DIM).astype(np.float32)
    return v / np.linalg.norm(v)


def _shares(name: str) -> tuple[float, ...]:
    return tuple(1.0 if c == name else 0.0 for c in COLOR_NAMES)


def _record(segment: int, track: int, start: int, end: int, embedding, upper="black", x=100.0) -> TrackRecord:
    path = tuple((t, x + (t - start) / 50, 100.0, x + 40 + (t - start) / 50, 220.0) for t in range(start, end + 1, 500))
    return TrackRecord(camera_id="CAM", segment_start_ms=segment, track_id=track, start_ms=start, end_ms=end,
                       best_ms=start, path=path, embedding=embedding, upper=_shares(upper), lower=_shares("blue"),
                       thumbnail_key=f"{INDEX_PREFIX}/thumbs/CAM/{segment}/{track}.jpg")


@pytest.fixture
def index(aws):
    return IndexStore(aws.store("footage"))


def test_segment_parts_compact_into_one_hour_file_that_reads_back_the_same(index, aws):
    person = _unit(1)
    index.write_segment(V1, "CAM", T0, [_record(T0, 0, T0 + 500, T0 + 9_500, person)], dim=DIM)
    index.write_segment(V1, "CAM", T0 + 10_000, [], dim=DIM)  # indexed, nobody seen
    before = index.read(V1, ["CAM"], T0, T0 + 20_000)["CAM"]
    assert before.segments == {T0, T0 + 10_000} and sum(map(len, before.partitions)) == 1

    assert index.compact(V1, "CAM", T0, dim=DIM) == 1
    keys = sorted(aws.store("footage").keys(hour_prefix(V1, "CAM", T0)))
    assert [k.rsplit("/", 1)[-1] for k in keys] == ["hour.parquet"]
    after = index.read(V1, ["CAM"], T0, T0 + 20_000)["CAM"]
    assert after.segments == before.segments
    record = after.partitions[0].record(0)
    assert record.start_ms == T0 + 500 and record.path[-1][0] == T0 + 9_500
    assert np.all(np.abs(record.embedding - person) <= np.abs(person).max() / 254 + 1e-6)  # int8: half a step


def test_records_of_another_model_version_are_never_read(index):
    index.write_segment(V1, "CAM", T0, [_record(T0, 0, T0, T0 + 5_000, _unit(1))], dim=DIM)
    assert index.read(V2, ["CAM"], T0, T0 + 10_000)["CAM"].partitions == ()
    assert len(index.read(V1, ["CAM"], T0, T0 + 10_000)["CAM"].partitions) == 1


def test_a_person_cut_by_a_segment_boundary_is_one_hit_and_others_rank_below(index):
    person, other = _unit(1), _unit(2)
    index.write_segment(V1, "CAM", T0, [_record(T0, 0, T0 + 6_000, T0 + 9_500, person),
                                        _record(T0, 1, T0 + 1_000, T0 + 4_000, other, x=500)], dim=DIM)
    index.write_segment(V1, "CAM", T0 + 10_000, [_record(T0 + 10_000, 0, T0 + 10_000, T0 + 12_000, person,
                                                         x=100 + 3_500 / 50 + 5)], dim=DIM)
    query = SearchQuery(embeddings=[person.tolist()], embedder="osnet", top_k=5, min_score=0.0)
    answer = search_index(index, V1, {"CAM": (T0, T0 + 20_000)}, query)
    hits = answer.hits
    assert answer.segments == {"CAM": frozenset({T0, T0 + 10_000})}
    assert (hits[0].track.start_ms, hits[0].track.end_ms) == (T0 + 6_000, T0 + 12_000)
    assert len(hits) == 2 and hits[0].track.score > hits[1].track.score
    # AND only the segments and the window asked for count
    only_second = search_index(index, V1, {"CAM": (T0, T0 + 20_000)}, query,
                               segments={"CAM": frozenset({T0 + 10_000})}).hits
    assert [(h.track.start_ms, h.track.end_ms) for h in only_second] == [(T0 + 10_000, T0 + 12_000)]
    late = search_index(index, V1, {"CAM": (T0 + 5_000, T0 + 20_000)}, query).hits
    assert all(h.track.end_ms >= T0 + 5_000 for h in late) and len(late) == 1


def test_a_colour_query_ranks_the_red_top_first(index):
    index.write_segment(V1, "CAM", T0, [_record(T0, 0, T0, T0 + 3_000, _unit(1), upper="black"),
                                        _record(T0, 1, T0 + 4_000, T0 + 7_000, _unit(2), upper="red", x=400)],
                        dim=DIM)
    hits = search_index(index, V1, {"CAM": (T0, T0 + 10_000)}, SearchQuery(upper_color="red", min_score=0.0)).hits
    assert [h.track.best.upper for h in hits] == ["red", "black"] and hits[0].track.score > hits[1].track.score
