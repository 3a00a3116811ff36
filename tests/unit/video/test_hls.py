"""HLS playlist builders: pure properties, no I/O."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import pytest

from chalicelib.models.footage import FootageSegment
from chalicelib.video import hls

T0 = 1_750_000_000_000  # a fixed wall-clock instant (ms)


def seg(start_ms: int, duration_ms: int = 10_000, camera_id: str = "cam-1", fps: float = 10.0) -> FootageSegment:
    return FootageSegment(camera_id=camera_id, start_ms=start_ms, end_ms=start_ms + duration_ms,
                          key=f"footage/{camera_id}/{start_ms}.ts", fps=fps, width=768, height=576, bytes=1000)


def run(start_ms: int, count: int, duration_ms: int = 10_000) -> list[FootageSegment]:
    return [seg(start_ms + i * duration_ms, duration_ms) for i in range(count)]


def uri(segment: FootageSegment) -> str:
    return f"https://edge.example/{segment.key}"


@dataclass
class Entry:
    uri: str
    duration: float
    discontinuity: bool


@dataclass
class Playlist:
    tags: dict[str, str] = field(default_factory=dict)
    entries: list[Entry] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)

    @property
    def media_sequence(self) -> int:
        return int(self.tags["#EXT-X-MEDIA-SEQUENCE"])

    @property
    def uris(self) -> list[str]:
        return [e.uri for e in self.entries]


def parse(text: str) -> Playlist:
    assert text.endswith("\n")
    lines = text.splitlines()
    assert lines[0] == "#EXTM3U"
    playlist = Playlist(lines=lines)
    pending_disc, duration = False, None
    for line in lines[1:]:
        if line.startswith("#EXTINF:"):
            duration = float(line.removeprefix("#EXTINF:").rstrip(","))
        elif line == "#EXT-X-DISCONTINUITY":
            pending_disc = True
        elif line.startswith("#"):
            name, _, value = line.partition(":")
            playlist.tags[name] = value
        else:
            assert duration is not None, "a URI must follow an #EXTINF"
            playlist.entries.append(Entry(line, duration, pending_disc))
            pending_disc, duration = False, None
    return playlist


# ---- VOD ---------------------------------------------------------------------------------------


def test_vod_playlist_lists_every_segment_in_time_order_and_ends():
    # GIVEN contiguous segments handed over out of order, the last one shorter
    segments = [*run(T0, 3), seg(T0 + 30_000, 9_500)]
    # WHEN
    playlist = parse(hls.vod_playlist(list(reversed(segments)), uri))
    # THEN
    assert playlist.lines[1] == "#EXT-X-VERSION:3"
    assert playlist.tags["#EXT-X-TARGETDURATION"] == "10"
    assert playlist.tags["#EXT-X-MEDIA-SEQUENCE"] == "0"
    assert playlist.tags["#EXT-X-PLAYLIST-TYPE"] == "VOD"
    assert playlist.lines[-1] == "#EXT-X-ENDLIST"
    assert playlist.uris == [uri(s) for s in segments]
    assert [e.duration for e in playlist.entries] == [10.0, 10.0, 10.0, 9.5]
    assert not any(e.discontinuity for e in playlist.entries)


def test_vod_target_duration_is_the_ceiling_of_the_longest_segment():
    playlist = parse(hls.vod_playlist([seg(T0, 10_010), seg(T0 + 10_010, 4_000)], uri))
    assert playlist.tags["#EXT-X-TARGETDURATION"] == "11"
    assert all(round(e.duration) <= 11 for e in playlist.entries)


def test_vod_marks_a_discontinuity_only_where_the_timeline_breaks():
    # GIVEN two runs of footage with a one-minute gap, and one overlapping re-upload
    segments = [*run(T0, 2), *run(T0 + 80_000, 2), seg(T0 + 95_000)]
    # WHEN
    playlist = parse(hls.vod_playlist(segments, uri))
    # THEN
    assert [e.discontinuity for e in playlist.entries] == [False, False, True, False, True]
    assert "#EXT-X-DISCONTINUITY" not in playlist.lines[:6]


def test_vod_tolerates_sub_frame_jitter_between_uploads():
    # 30 ms apart at 10 fps is less than half a frame: the same continuous timeline
    playlist = parse(hls.vod_playlist([seg(T0), seg(T0 + 10_030)], uri))
    assert not any(e.discontinuity for e in playlist.entries)


def test_vod_start_offset_and_program_date_time():
    segments = [*run(T0, 2), *run(T0 + 60_000, 1)]
    text = hls.vod_playlist(segments, uri, start_offset=12.5, program_date_time=True)
    assert "#EXT-X-START:TIME-OFFSET=12.500,PRECISE=YES" in text
    stamps = [line for line in text.splitlines() if line.startswith("#EXT-X-PROGRAM-DATE-TIME:")]
    assert stamps == ["#EXT-X-PROGRAM-DATE-TIME:2025-06-15T15:06:40.000+00:00",
                      "#EXT-X-PROGRAM-DATE-TIME:2025-06-15T15:07:40.000+00:00"]


def test_vod_needs_segments():
    with pytest.raises(ValueError, match="at least one"):
        hls.vod_playlist([], uri)


# ---- clip window -------------------------------------------------------------------------------


def test_clip_keeps_segments_meeting_the_window():
    segments = run(T0, 6)
    assert hls.clip(segments, T0 + 15_000, T0 + 35_000) == segments[1:4]
    assert hls.clip(segments, T0 + 20_000, T0 + 30_000) == segments[2:3]  # boundaries are half-open
    assert hls.clip(segments, T0 + 20_000, T0 + 20_000) == segments[2:3]  # an instant
    assert hls.clip(segments, T0 - 50_000, T0 - 1) == []
    assert hls.clip(segments, T0 + 60_000, T0 + 70_000) == []
    with pytest.raises(ValueError, match="ends before"):
        hls.clip(segments, T0 + 10, T0)


def test_start_offset_skips_gaps():
    segments = [*run(T0, 2), *run(T0 + 60_000, 2)]
    assert hls.start_offset_s(segments, T0 + 12_000) == pytest.approx(12.0)
    assert hls.start_offset_s(segments, T0 + 40_000) == pytest.approx(20.0)  # in the gap: next segment
    assert hls.start_offset_s(segments, T0 + 65_000) == pytest.approx(25.0)
    clipped = hls.clip(segments, T0 + 65_000, T0 + 75_000)
    assert hls.start_offset_s(clipped, T0 + 65_000) == pytest.approx(5.0)


# ---- live loop ---------------------------------------------------------------------------------

RECORDING = [*run(T0, 4), seg(T0 + 40_000, 5_000)]  # 45 s of footage, 5 segments
LOOP_START = 1_700_000_000_000
WINDOW = 3


def live(now_ms: int, segments: list[FootageSegment] = RECORDING, window: int = WINDOW) -> Playlist:
    return parse(hls.live_playlist(segments, now_ms, LOOP_START, window, uri))


def test_live_playlist_is_a_sliding_window_without_endlist():
    playlist = live(LOOP_START + 3_600_000)
    assert "#EXT-X-ENDLIST" not in playlist.lines
    assert "#EXT-X-PLAYLIST-TYPE" not in playlist.tags
    assert len(playlist.entries) == WINDOW
    assert playlist.tags["#EXT-X-TARGETDURATION"] == "10"
    assert all(round(e.duration) <= 10 for e in playlist.entries)


def test_live_playlist_advances_one_segment_per_segment_duration():
    # GIVEN a moment well into the loop
    earlier_at = LOOP_START + 7 * 45_000 + 12_000
    # WHEN the player polls again one segment later
    earlier, later = live(earlier_at), live(earlier_at + 10_000)
    # THEN the window has slid by one: new sequence, the oldest URI gone, a new one at the live edge
    assert later.media_sequence == earlier.media_sequence + 1
    assert later.uris != earlier.uris
    assert later.uris[:-1] == earlier.uris[1:]


def test_live_media_sequence_never_goes_back_and_follows_wall_time():
    previous = -1
    for now in range(LOOP_START, LOOP_START + 4 * 45_000 + 1, 1_000):
        sequence = live(now).media_sequence
        assert sequence >= previous
        previous = sequence
    # after exactly 4 laps, 4 × 5 segments are published; the window starts 3 before the edge
    assert previous == 4 * len(RECORDING) - WINDOW


def test_live_playlist_starts_full_before_a_window_has_elapsed():
    for now in (LOOP_START - 5_000, LOOP_START, LOOP_START + 15_000):
        playlist = live(now)
        assert playlist.media_sequence == 0
        assert playlist.uris == [uri(s) for s in RECORDING[:WINDOW]]


def test_live_playlist_wraps_with_a_discontinuity():
    # GIVEN the moment the second lap's first segment has just been published
    playlist = live(LOOP_START + 45_000 + 10_000)
    # THEN the last recorded segment is followed by the first one, across a discontinuity
    assert playlist.uris[-2:] == [uri(RECORDING[-1]), uri(RECORDING[0])]
    assert [e.discontinuity for e in playlist.entries] == [False, False, True]
    assert playlist.tags["#EXT-X-DISCONTINUITY-SEQUENCE"] == "0"


def test_live_discontinuity_sequence_stays_consistent_as_the_window_slides():
    # GIVEN a recording with an internal gap (two discontinuities per lap: the gap and the wrap)
    recording = [*run(T0, 2), *run(T0 + 300_000, 2)]

    def numbered(now: int) -> dict[int, int]:
        """Absolute media sequence number -> discontinuity sequence number of that segment."""
        playlist = live(now, recording)
        number, out = int(playlist.tags["#EXT-X-DISCONTINUITY-SEQUENCE"]), {}
        for offset, entry in enumerate(playlist.entries):
            number += entry.discontinuity
            out[playlist.media_sequence + offset] = number
        return out

    # WHEN the window slides across several laps
    seen: dict[int, int] = {}
    for now in range(LOOP_START, LOOP_START + 5 * 40_000, 2_500):
        for sequence, discontinuity in numbered(now).items():
            # THEN every segment keeps its discontinuity sequence number in every playlist
            assert seen.setdefault(sequence, discontinuity) == discontinuity
    assert seen[4 * 3] == 2 * 3  # lap 3 starts after three wraps and three gaps


def test_live_single_segment_loops_with_discontinuities():
    playlist = live(LOOP_START + 100_000, [seg(T0)], window=3)
    assert playlist.uris == [uri(seg(T0))] * 3
    assert [e.discontinuity for e in playlist.entries] == [False, True, True]
    assert playlist.media_sequence == 7


def test_live_rejects_unusable_input():
    with pytest.raises(ValueError, match="at least one"):
        hls.live_playlist([], LOOP_START, LOOP_START, 3, uri)
    with pytest.raises(ValueError, match="window"):
        hls.live_playlist(RECORDING, LOOP_START, LOOP_START, 0, uri)


def test_target_duration_is_a_ceiling():
    assert hls.target_duration([seg(T0, 9_500)]) == 10
    assert hls.target_duration([seg(T0, 10_000)]) == 10
    assert hls.target_duration([seg(T0, 10_001)]) == math.ceil(10.001)
