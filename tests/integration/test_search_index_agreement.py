"""The index answers like today's full-decode search: the same top-5 people on vtest.avi (agreement ≥ 0.9)."""

from __future__ import annotations

import pytest
from search_support import MODELS, VIDEO, index_agreement_at5

from chalicelib.services.search.stages import load_stages

pytestmark = [pytest.mark.shared,
              pytest.mark.skipif(not VIDEO.exists() or not MODELS.exists(),
                                 reason="needs ../shared/data/video/vtest.avi and ../shared/models")]


def test_indexed_search_returns_the_same_top5_people_as_the_full_decode_search():
    # GIVEN vtest.avi stored as 10 s segments, indexed once, and ten photo queries of five hand-checked people
    stages = load_stages(None)
    assert stages.embedder.name == "osnet"
    # WHEN each query runs through the index and through today's decode pipeline over the same frames
    agreement, report = index_agreement_at5(stages)
    print("\n" + "\n".join(report))
    # THEN the decode path's top-5 people are (nearly all) among the index's top 5
    assert agreement >= 0.9, report
