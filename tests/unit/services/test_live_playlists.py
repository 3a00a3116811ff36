"""Which live segments a live link's playlist keeps: the newest complete at issue, and all after it."""

from __future__ import annotations

from chalicelib.services.video_links.live_playlists import LiveLinkScope, sign_live_playlist


class _MarkingSigner:
    def sign(self, url: str, *, expires_at: int, ip_cidr: str | None = None) -> str:
        return f"{url}&signed-for={ip_cidr}"


def _playlist(*segments: tuple[int, float]) -> str:
    lines = ["#EXTM3U", "#EXT-X-TARGETDURATION:10", "#EXT-X-MEDIA-SEQUENCE:7"]
    for start_ms, seconds in segments:
        lines += [f"#EXTINF:{seconds:.3f},", f"{start_ms}.ts"]
    return "\n".join(lines) + "\n"


def _sign(playlist: str, since_ms: int) -> list[str]:
    scope = LiveLinkScope(link="vl-1", camera_id="CAM-1", since_ms=since_ms, expires_at=2_000_000_000,
                          cidr="127.0.0.2/32")
    text = sign_live_playlist(playlist, scope, edge_base="http://edge", signer=_MarkingSigner())
    return [line for line in text.splitlines() if line and not line.startswith("#")]


def test_a_short_tail_segment_that_ended_long_before_the_issue_is_still_the_first_a_player_gets():
    # GIVEN a loop whose newest published segment is a 0.4 s tail that ended 8.6 s before the link was issued
    playlist = _playlist((1_000, 10.0), (11_000, 0.4))
    # WHEN the link issued at 20 s asks for its playlist
    uris = _sign(playlist, since_ms=20_000)
    # THEN the player gets that tail (something to start with) and nothing older
    assert uris == ["http://edge/live/CAM-1/11000.ts?link=vl-1&signed-for=127.0.0.2/32"]


def test_segments_complete_before_the_newest_one_at_issue_are_out_of_reach():
    playlist = _playlist((0, 10.0), (10_000, 10.0), (20_000, 10.0), (30_000, 10.0))
    uris = _sign(playlist, since_ms=25_000)
    # 10000.ts was the newest complete at 25 s; 20000.ts was being recorded; 30000.ts came later
    assert [uri.split("?")[0].rsplit("/", 1)[1] for uri in uris] == ["10000.ts", "20000.ts", "30000.ts"]
