"""Pure HLS media-playlist builders for recorded footage (RFC 8216, protocol version 3).

* :func:`vod_playlist` — a finished recording or an incident clip, ``#EXT-X-ENDLIST`` included.
* :func:`live_playlist` — a live sliding window that simulates a camera by looping its recorded
  footage: the window advances with wall time, so a player polling it sees a live stream.
* :func:`clip` / :func:`start_offset_s` — cut a segment list down to a time window.

Segments carry wall-clock times (``start_ms``/``end_ms``); two are *contiguous* when the next
starts within half a frame of where the previous ends. Anything else (a gap, an overlap, the
loop jumping back) gets an ``#EXT-X-DISCONTINUITY`` tag so players reset their timestamp model.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from itertools import accumulate

from chalicelib.models.footage import FootageSegment

UriFor = Callable[[FootageSegment], str]
LiveUriFor = Callable[[int, FootageSegment], str]
"""(simulated wall-clock start in ms, the recorded segment played then) → the entry's URI."""

VERSION = 3


def contiguous(previous: FootageSegment, following: FootageSegment) -> bool:
    """Whether ``following`` continues ``previous`` without a gap (half a frame of slack)."""
    return abs(following.start_ms - previous.end_ms) <= 500.0 / previous.fps


def overlaps(segment: FootageSegment, t1_ms: int, t2_ms: int) -> bool:
    """Whether the segment's ``[start, end)`` meets the window ``[t1, t2)``; ``t1 == t2`` asks
    for the segment holding that instant."""
    if t2_ms < t1_ms:
        raise ValueError("window ends before it starts")
    if t1_ms == t2_ms:
        return segment.start_ms <= t1_ms < segment.end_ms
    return segment.start_ms < t2_ms and segment.end_ms > t1_ms


def clip(segments: Iterable[FootageSegment], t1_ms: int, t2_ms: int) -> list[FootageSegment]:
    """The segments meeting ``[t1, t2)``, in time order. HLS cannot cut inside a segment, so the
    first and last may run past the window: pair with :func:`start_offset_s` for a precise start."""
    return sorted((s for s in segments if overlaps(s, t1_ms, t2_ms)), key=_start)


def start_offset_s(segments: Sequence[FootageSegment], t_ms: int) -> float:
    """Playlist time (seconds from its first segment, gaps removed) at which wall time ``t_ms``
    plays; a ``t_ms`` inside a gap maps to the start of the next segment."""
    offset = 0.0
    for segment in sorted(segments, key=_start):
        if t_ms < segment.start_ms:
            return offset
        if t_ms < segment.end_ms:
            return offset + (t_ms - segment.start_ms) / 1000.0
        offset += segment.duration_s
    return offset


def target_duration(segments: Iterable[FootageSegment]) -> int:
    """``#EXT-X-TARGETDURATION``: every ``#EXTINF`` rounded to an integer must not exceed it."""
    return max(1, max((math.ceil(round(s.duration_s, 3)) for s in segments), default=1))


def vod_playlist(segments: Iterable[FootageSegment], uri_for: UriFor, *, start_offset: float | None = None,
                 program_date_time: bool = False) -> str:
    """A complete (VOD) media playlist of ``segments`` in time order.

    ``start_offset`` adds ``#EXT-X-START`` so players begin there (seconds, see
    :func:`start_offset_s`); ``program_date_time`` tags the wall-clock time of each run of
    contiguous segments, which lets a player show when the footage was recorded.
    """
    ordered = sorted(segments, key=_start)
    if not ordered:
        raise ValueError("a playlist needs at least one segment")
    lines = [
        "#EXTM3U",
        f"#EXT-X-VERSION:{VERSION}",
        f"#EXT-X-TARGETDURATION:{target_duration(ordered)}",
        "#EXT-X-MEDIA-SEQUENCE:0",
        "#EXT-X-PLAYLIST-TYPE:VOD",
    ]
    if start_offset is not None:
        lines.append(f"#EXT-X-START:TIME-OFFSET={start_offset:.3f},PRECISE=YES")
    previous: FootageSegment | None = None
    for segment in ordered:
        new_run = previous is None or not contiguous(previous, segment)
        if previous is not None and new_run:
            lines.append("#EXT-X-DISCONTINUITY")
        if program_date_time and new_run:
            lines.append(f"#EXT-X-PROGRAM-DATE-TIME:{_iso(segment.start_ms)}")
        lines += _entry(segment, uri_for)
        previous = segment
    lines.append("#EXT-X-ENDLIST")
    return "\n".join(lines) + "\n"


def live_playlist(segments: Iterable[FootageSegment], now_ms: int, loop_start_ms: int, window: int,
                  uri_for: UriFor, *, live_uri: LiveUriFor | None = None) -> str:
    """A live sliding-window playlist (no ``#EXT-X-ENDLIST``) that loops ``segments`` forever.

    The recording is laid end to end from ``loop_start_ms``: position ``k`` of that endless
    sequence is segment ``k mod n`` of lap ``k // n``. A position is *published* once its
    simulated end has passed ``now_ms``, as a live encoder publishes a finished segment. The
    playlist lists the newest ``window`` published positions (the first ``window`` positions
    until that many exist), so ``#EXT-X-MEDIA-SEQUENCE`` — the first listed position — grows by
    one per segment duration and never goes back. The wrap from the last recorded segment to the
    first, and every gap inside the recording, carry ``#EXT-X-DISCONTINUITY``;
    ``#EXT-X-DISCONTINUITY-SEQUENCE`` counts the ones that have slid out of the window.
    ``live_uri`` (when given) names each entry by its simulated wall-clock start instead, as a
    camera gateway names the live segments it writes (see :func:`live_segment_at`).
    """
    ordered = sorted(segments, key=_start)
    if not ordered:
        raise ValueError("a playlist needs at least one segment")
    if window < 1:
        raise ValueError("window must be at least one segment")
    durations = [s.end_ms - s.start_ms for s in ordered]
    if min(durations) <= 0:
        raise ValueError("every segment needs a positive duration")
    n = len(ordered)
    ends = list(accumulate(durations))  # simulated end of each segment within one lap
    lap_ms = ends[-1]
    elapsed = max(0, now_ms - loop_start_ms)
    published = (elapsed // lap_ms) * n + bisect_right(ends, elapsed % lap_ms)
    last = max(published, window)
    first = last - window
    # gaps[i]: discontinuities at the in-lap boundaries 1..i (a boundary sits before its position)
    gaps = [0, *accumulate(0 if contiguous(ordered[i - 1], ordered[i]) else 1 for i in range(1, n))]

    def discontinuities_through(boundary: int) -> int:
        laps, rest = divmod(boundary, n)
        return laps * (gaps[-1] + 1) + gaps[rest]

    lines = [
        "#EXTM3U",
        f"#EXT-X-VERSION:{VERSION}",
        f"#EXT-X-TARGETDURATION:{target_duration(ordered)}",
        f"#EXT-X-MEDIA-SEQUENCE:{first}",
        f"#EXT-X-DISCONTINUITY-SEQUENCE:{discontinuities_through(first)}",
    ]
    for position in range(first, last):
        if position > first and discontinuities_through(position) != discontinuities_through(position - 1):
            lines.append("#EXT-X-DISCONTINUITY")
        segment = ordered[position % n]
        if live_uri is None:
            lines += _entry(segment, uri_for)
        else:
            started = loop_start_ms + (position // n) * lap_ms + ends[position % n] - durations[position % n]
            lines += [_entry(segment, uri_for)[0], live_uri(started, segment)]
    return "\n".join(lines) + "\n"


def live_segment_at(segments: Iterable[FootageSegment], loop_start_ms: int, started_ms: int) -> FootageSegment | None:
    """The recorded segment that :func:`live_playlist` plays at simulated start ``started_ms``
    (``None`` when no position starts exactly then)."""
    ordered = sorted(segments, key=_start)
    if not ordered or started_ms < loop_start_ms:
        return None
    durations = [s.end_ms - s.start_ms for s in ordered]
    starts = [0, *accumulate(durations)]
    lap_ms = starts[-1]
    if lap_ms <= 0:
        return None
    _, within = divmod(started_ms - loop_start_ms, lap_ms)
    index = bisect_right(starts, within) - 1
    return ordered[index] if starts[index] == within and index < len(ordered) else None


def _entry(segment: FootageSegment, uri_for: UriFor) -> list[str]:
    return [f"#EXTINF:{segment.duration_s:.3f},", uri_for(segment)]


def _start(segment: FootageSegment) -> int:
    return segment.start_ms


def _iso(epoch_ms: int) -> str:
    return datetime.fromtimestamp(epoch_ms / 1000, tz=UTC).isoformat(timespec="milliseconds")
