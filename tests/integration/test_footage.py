"""Recorded footage end to end: PyAV segmenting, the S3 + DynamoDB catalog under moto, playlists.

Uses the real pedestrian clip ``../shared/data/video/vtest.avi`` when present, otherwise a
synthetic video of moving rectangles made with PyAV.
"""

from __future__ import annotations

import io
import math
import time
from fractions import Fraction
from itertools import pairwise
from pathlib import Path

import av
import pytest

from chalicelib.errors import PermanentError, ValidationFailed
from chalicelib.services.footage import DAY_MS, FootageCatalog, FootageExpired, segment_key
from chalicelib.video import hls
from chalicelib.video.segmenter import (
    MPEGTS_CLOCK,
    EncodedSegment,
    UnreadableVideo,
    make_synthetic_video,
    probe,
    segment_video,
)

ROOT = Path(__file__).resolve().parents[2]
VTEST = ROOT.parent / "shared" / "data" / "video" / "vtest.avi"
T0 = 1_750_000_000_000  # 2025-06-15T15:06:40Z, when the short clip was shot
NOW = T0 + 3_600_000  # an hour later
RETENTION_DAYS = 30


# ---- fixtures ----------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def source_video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """vtest.avi when ../shared has it, else a 35.5 s synthetic stand-in at its rate and size."""
    if VTEST.is_file():
        return VTEST
    try:
        return make_synthetic_video(tmp_path_factory.mktemp("video") / "synthetic.avi", 35.5, 10, (768, 576))
    except (av.FFmpegError, ValueError) as exc:
        pytest.skip(f"neither ../shared/data/video/vtest.avi nor a synthetic video (PyAV: {exc}) is available")


@pytest.fixture(scope="session")
def short_video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """25 s at 10 fps, 160×120: three segments (10 s, 10 s, 5 s) that transcode in milliseconds."""
    try:
        return make_synthetic_video(tmp_path_factory.mktemp("short") / "short.mp4", 25, 10, (160, 120))
    except (av.FFmpegError, ValueError) as exc:
        pytest.skip(f"PyAV cannot write a synthetic test video: {exc}")


@pytest.fixture(scope="session")
def transcoded(source_video: Path) -> tuple[list[EncodedSegment], float]:
    """The source segmented once (ultrafast), with the seconds it took."""
    started = time.perf_counter()
    segments = segment_video(source_video, segment_seconds=10, preset="ultrafast", start_time_s=T0 / 1000)
    return segments, time.perf_counter() - started


@pytest.fixture
def footage(aws) -> FootageCatalog:
    """The catalog on the real S3 and DynamoDB adapters, against moto."""
    return FootageCatalog(aws.store("footage"), aws.table("footage"), retention_days=RETENTION_DAYS,
                          segment_seconds=10, preset="ultrafast")


def decode(data: bytes) -> list[av.VideoFrame]:
    with av.open(io.BytesIO(data), mode="r", format="mpegts") as container:
        return list(container.decode(video=0))


def count_source_frames(path: Path) -> int:
    with av.open(str(path)) as container:
        return sum(1 for _ in container.decode(video=0))


# ---- segmenter ---------------------------------------------------------------------------------


def test_each_segment_is_a_standalone_h264_ts_starting_on_a_keyframe(transcoded, source_video):
    segments, seconds = transcoded
    info = probe(source_video)
    print(f"\ntranscoded {source_video.name} ({info.duration_s} s) into {len(segments)} segments in {seconds:.2f} s")
    for segment in segments:
        # WHEN each segment is decoded on its own
        with av.open(io.BytesIO(segment.data), mode="r", format="mpegts") as container:
            stream = container.streams.video[0]
            assert stream.codec_context.name == "h264"
            frames = list(container.decode(stream))
        # THEN it holds exactly its frames, opens on a keyframe, and keeps the source's size and format
        assert len(frames) == segment.frame_count
        assert frames[0].key_frame
        assert {(f.width, f.height, f.format.name) for f in frames} == {(info.width, info.height, "yuv420p")}
        assert (segment.width, segment.height, segment.fps) == (info.width, info.height, info.fps)


def test_segments_cover_the_source_frame_for_frame(transcoded, source_video):
    segments, _ = transcoded
    info = probe(source_video)
    # every frame of the source is in exactly one segment, in order
    assert sum(len(decode(s.data)) for s in segments) == count_source_frames(source_video)
    assert [s.index for s in segments] == list(range(len(segments)))
    assert all(s.duration_s == pytest.approx(10.0) for s in segments[:-1])
    assert 0 < segments[-1].duration_s <= 10.0
    total = sum(s.duration_s for s in segments)
    assert info.duration_s is not None
    assert info.duration_s - 10.0 <= total <= info.duration_s + 10.0
    assert all(b.start_s == pytest.approx(a.end_s) for a, b in pairwise(segments))


def test_segment_timestamps_run_on_without_a_seam(transcoded):
    # the last frame of one segment and the first of the next are one frame apart on the 90 kHz clock
    segments, _ = transcoded
    tick = Fraction(MPEGTS_CLOCK) / Fraction(segments[0].fps)
    firsts = [decode(s.data)[0].pts or 0 for s in segments[:3]]
    lasts = [decode(s.data)[-1].pts or 0 for s in segments[:2]]
    assert firsts[1] - lasts[0] == tick
    assert firsts[2] - lasts[1] == tick


def test_max_width_scales_down_keeping_the_aspect_and_even_sizes(short_video):
    segments = segment_video(short_video, segment_seconds=10, preset="ultrafast", max_width=97)
    frame = decode(segments[0].data)[0]
    assert (frame.width, frame.height) == (segments[0].width, segments[0].height) == (96, 72)


def test_a_file_that_is_not_video_is_a_permanent_error(tmp_path):
    junk = tmp_path / "junk.avi"
    junk.write_bytes(b"not a video at all" * 100)
    with pytest.raises(UnreadableVideo) as caught:
        segment_video(junk)
    assert isinstance(caught.value, PermanentError)


# ---- catalog: ingest and lookup ----------------------------------------------------------------


def test_ingest_stores_objects_and_indexes_rows(footage, aws, short_video):
    # WHEN a 25 s clip shot at T0 is ingested
    segments = footage.ingest("cam-001", short_video, T0, now_ms=NOW)
    # THEN three segments are stored, back to back, each as a decodable object and a row with a TTL
    assert [(s.start_ms - T0, s.end_ms - T0) for s in segments] == [(0, 10_000), (10_000, 20_000), (20_000, 25_000)]
    store, table = aws.store("footage"), aws.table("footage")
    for segment in segments:
        assert segment.key == segment_key("cam-001", segment.start_ms) == f"footage/cam-001/{segment.start_ms}.ts"
        assert store.head(segment.key).content_type == "video/mp2t"
        assert store.head(segment.key).size == segment.bytes
        assert len(decode(store.get(segment.key))) == round(segment.duration_s * 10)
        row = table.get({"camera_id": "cam-001", "start_ms": segment.start_ms})
        assert row is not None
        assert row["expires_at"] == math.ceil((segment.end_ms + RETENTION_DAYS * DAY_MS) / 1000)
        assert row["key"] == segment.key


def test_segments_covering_answers_inside_spanning_and_outside(footage, short_video):
    # GIVEN two recordings of one camera with a gap between them, and another camera
    first = footage.ingest("cam-001", short_video, T0, now_ms=NOW)  # T0 .. T0+25 s
    second = footage.ingest("cam-001", short_video, T0 + 60_000, now_ms=NOW)  # T0+60 s .. T0+85 s
    footage.ingest("cam-002", short_video, T0, now_ms=NOW)

    def covering(a: int, b: int) -> list[int]:
        return [s.start_ms - T0 for s in footage.segments_covering("cam-001", T0 + a, T0 + b)]

    # inside one segment, including one that started before the window
    assert covering(12_000, 15_000) == [10_000]
    assert covering(3_000, 3_000) == [0]
    # spanning segment boundaries and the gap between recordings
    assert covering(5_000, 15_000) == [0, 10_000]
    assert covering(-5_000, 100_000) == [0, 10_000, 20_000, 60_000, 70_000, 80_000]
    assert covering(22_000, 65_000) == [20_000, 60_000]
    # outside: before, in the gap, after, and at the exact end (half-open)
    assert covering(-60_000, -1) == []
    assert covering(30_000, 55_000) == []
    assert covering(85_000, 120_000) == []
    assert covering(25_000, 25_000) == []
    assert footage.segments_covering("cam-404", T0, T0 + 60_000) == []
    assert first[-1].end_ms == T0 + 25_000
    assert second[0].start_ms == T0 + 60_000

    assert footage.has_footage("cam-001", T0 + 1_000, T0 + 2_000)
    assert not footage.has_footage("cam-001", T0 + 30_000, T0 + 40_000)
    assert footage.has_footage("cam-001", T0, T0 + 25_000, complete=True)
    assert not footage.has_footage("cam-001", T0, T0 + 70_000, complete=True)  # the gap
    assert footage.has_footage("cam-001", T0, T0 + 70_000)
    with pytest.raises(ValidationFailed):
        footage.segments_covering("cam-001", T0 + 10, T0)


def test_an_incident_clip_becomes_a_vod_playlist(footage, short_video):
    footage.ingest("cam-001", short_video, T0, now_ms=NOW)
    footage.ingest("cam-001", short_video, T0 + 60_000, now_ms=NOW)
    t1, t2 = T0 + 15_000, T0 + 65_000
    clip = footage.segments_covering("cam-001", t1, t2)
    text = hls.vod_playlist(clip, lambda s: f"/media/{s.key}", start_offset=hls.start_offset_s(clip, t1))
    assert "#EXT-X-START:TIME-OFFSET=5.000,PRECISE=YES" in text
    assert text.count("#EXTINF:") == 3
    assert text.count("#EXT-X-DISCONTINUITY") == 1
    assert text.rstrip().endswith("#EXT-X-ENDLIST")


def test_live_playlist_over_stored_footage_advances_and_wraps(footage, short_video):
    footage.ingest("cam-001", short_video, T0, now_ms=NOW)
    recorded = footage.segments_covering("cam-001", 0, NOW)

    def playlist(now: int) -> str:
        return hls.live_playlist(recorded, now, T0, 2, lambda s: s.key)

    def sequence(text: str) -> int:
        return int(text.split("#EXT-X-MEDIA-SEQUENCE:")[1].split("\n")[0])

    earlier, later = playlist(NOW), playlist(NOW + 10_000)
    assert sequence(later) > sequence(earlier)
    assert [line for line in later.splitlines() if line.endswith(".ts")] != [
        line for line in earlier.splitlines() if line.endswith(".ts")]
    # 25 s of footage loops: just after the first wrap the 5 s segment is followed by the first one
    wrapped = playlist(T0 + 25_000 + 10_000)
    assert wrapped.splitlines()[-3:] == ["#EXT-X-DISCONTINUITY", "#EXTINF:10.000,", recorded[0].key]


# ---- retention ---------------------------------------------------------------------------------


def test_footage_older_than_retention_is_refused(footage, aws, short_video):
    too_old = NOW - (RETENTION_DAYS + 1) * DAY_MS
    with pytest.raises(FootageExpired) as caught:
        footage.ingest("cam-001", short_video, too_old, now_ms=NOW)
    # an API answers it 422; a queue worker acknowledges it as permanent
    assert isinstance(caught.value, ValidationFailed)
    assert isinstance(caught.value, PermanentError)
    assert caught.value.status == 422
    assert list(aws.store("footage").keys("footage/")) == []
    assert list(aws.table("footage").scan()) == []


def test_only_the_part_still_within_retention_is_stored(footage, short_video):
    # the clip ends 15 s before its retention horizon would pass: the first segment is already out
    start = NOW - RETENTION_DAYS * DAY_MS - 10_000
    stored = footage.ingest("cam-001", short_video, start, now_ms=NOW)
    assert [s.start_ms - start for s in stored] == [10_000, 20_000]


def test_enforce_retention_deletes_expired_rows_and_objects(footage, aws, short_video):
    # GIVEN footage shot at T0 and footage shot 20 days later
    old = footage.ingest("cam-001", short_video, T0, now_ms=NOW)
    fresh = footage.ingest("cam-002", short_video, T0 + 20 * DAY_MS, now_ms=T0 + 20 * DAY_MS)
    store, table = aws.store("footage"), aws.table("footage")
    # WHEN retention runs just before the first segment's expiry, then 31 days after T0
    assert footage.enforce_retention(old[0].end_ms + RETENTION_DAYS * DAY_MS - 1_000) == 0
    deleted = footage.enforce_retention(T0 + (RETENTION_DAYS + 1) * DAY_MS)
    # THEN exactly the old recording is gone, object and row, and a second run finds nothing
    assert deleted == len(old) == 3
    assert sorted(store.keys("footage/")) == sorted(s.key for s in fresh)
    assert {(r["camera_id"], r["start_ms"]) for r in table.scan()} == {("cam-002", s.start_ms) for s in fresh}
    assert footage.segments_covering("cam-001", 0, NOW) == []
    assert footage.enforce_retention(T0 + (RETENTION_DAYS + 1) * DAY_MS) == 0


# ---- the real clip, whole ----------------------------------------------------------------------


@pytest.mark.shared
@pytest.mark.skipif(not VTEST.is_file(), reason="../shared/data/video/vtest.avi is absent")
def test_vtest_is_ingested_whole_and_plays_back(footage, aws):
    started = time.perf_counter()
    segments = footage.ingest("cam-vtest", VTEST, T0, now_ms=NOW)
    seconds = time.perf_counter() - started
    print(f"\ningested vtest.avi (79.5 s) as {len(segments)} segments in {seconds:.2f} s")
    assert len(segments) == 8
    assert (segments[0].width, segments[0].height, segments[0].fps) == (768, 576, 10.0)
    assert segments[-1].end_ms - segments[0].start_ms == 79_500
    stored = footage.segments_covering("cam-vtest", T0, T0 + 79_500)
    assert stored == segments
    assert sum(len(decode(aws.store("footage").get(s.key))) for s in stored) == 795
    text = hls.vod_playlist(stored, lambda s: s.key)
    assert text.count("#EXTINF:10.000,") == 7
    assert "#EXTINF:9.500," in text
    assert "#EXT-X-DISCONTINUITY" not in text
