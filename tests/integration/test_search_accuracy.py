"""Accuracy on real footage: hand-checked people of vtest.avi, queried by photo and by clothing colour."""

from __future__ import annotations

import pytest
from search_support import MODELS, VIDEO, CachingDetector, CachingEmbedder, crop, is_person, people, sampled_frames

from chalicelib.models.search import SearchQuery, Sighting
from chalicelib.services.search.shard import SearchPipeline
from chalicelib.services.search.stages import load_stages

pytestmark = [pytest.mark.shared,
              pytest.mark.skipif(not VIDEO.exists() or not MODELS.exists(),
                                 reason="needs ../shared/data/video/vtest.avi and ../shared/models")]

# (person, frame index of the query photo): two moments per person, far apart in time.
QUERIES = (("A", 60), ("A", 300), ("B", 50), ("B", 280), ("C", 80), ("C", 240), ("D", 450), ("D", 700),
           ("F", 450), ("F", 720))


@pytest.fixture(scope="module")
def stages():
    loaded = load_stages(None)
    assert loaded.detector.name == "yolox" and loaded.embedder.name == "osnet"
    return CachingDetector(loaded.detector), CachingEmbedder(loaded.embedder)


def _run(query: SearchQuery, stages) -> list[Sighting]:
    detector, embedder = stages
    pipeline = SearchPipeline(query, detector, embedder, motion=None)
    pipeline.feed(sampled_frames(2.0))
    return [s for s, _ in pipeline.finish().get("VTEST", [])]


def test_photo_query_top5_are_the_same_person_at_other_moments(stages):
    # GIVEN five hand-checked people and a photo (their box) of each from two different moments
    everyone, frames = people(), {round(f.time_ms / 100): f for f in sampled_frames(2.0)}
    _, embedder = stages
    correct = total = 0
    report = []
    for name, frame_index in QUERIES:
        person = everyone[name]
        photo = crop(frames[frame_index].image, person.boxes[frame_index])
        query = SearchQuery(embeddings=embedder.embed([photo]).tolist(), embedder=embedder.name, top_k=8)
        # WHEN the footage is searched with that photo
        hits = [s for s in _run(query, stages) if round(s.time_ms / 100) != frame_index][:5]
        # THEN the top five sightings at other moments are that person
        ok = [is_person(person, s.time_ms, (s.box.x1, s.box.y1, s.box.x2, s.box.y2)) for s in hits]
        correct += sum(ok)
        total += 5
        report.append(f"{name}@{frame_index}: {sum(ok)}/5")
    precision = correct / total
    print("precision@5", precision, report)
    assert precision >= 0.8, report


def test_colour_only_query_ranks_a_matching_person_first(stages):
    # GIVEN only clothing colours; B (red-shouldered jacket) and F (red jacket) are the people in red
    everyone = people()
    for upper, lower, matching in (("red", None, "BF"), ("red", "blue", "BF")):
        query = SearchQuery(upper_color=upper, lower_color=lower, top_k=3)
        # WHEN the footage is searched by colour alone
        hits = _run(query, stages)
        # THEN the best sighting is a person wearing those colours
        best = hits[0]
        box = (best.box.x1, best.box.y1, best.box.x2, best.box.y2)
        assert any(is_person(everyone[name], best.time_ms, box) for name in matching), (upper, lower, best)
