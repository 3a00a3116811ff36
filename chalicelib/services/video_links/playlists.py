"""The VOD playlist of a recorded link."""

from __future__ import annotations

from collections.abc import Callable

from chalicelib.models.footage import FootageSegment
from chalicelib.models.video_link import TimeWindow
from chalicelib.video import hls


def recorded_playlist(segments: list[FootageSegment], window: TimeWindow,
                      segment_url: Callable[[FootageSegment], str]) -> str:
    """The VOD playlist of a recorded link: each segment URI is its own signed URL; playback
    starts at the window's start."""
    return hls.vod_playlist(segments, segment_url, start_offset=hls.start_offset_s(segments, window.start_ms),
                            program_date_time=True)
