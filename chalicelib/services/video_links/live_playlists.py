"""Live playlists for agency links: one signed URL per live segment, only segments of the link's lifetime.

A camera gateway (or, locally, the camera simulator) publishes a sliding-window HLS playlist
under ``live/<camera>/`` whose entries are named ``<start_ms>.ts`` (the segment's wall-clock
start). A live link names that playlist exactly (``…/live/<camera>/index.m3u8?link=<id>&since=<s>``);
the playlist origin — the local media edge, or the live-playlist function behind CloudFront —
answers with the gateway's playlist where every segment URI is replaced by a URL signed for that
one object (same expiry, same agency range, same ``link``), and where segments that ended before
the link was issued are left out. So a live link never reaches a recorded segment, another
camera, or live video from before it existed. Pure: the signer is passed in.
"""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

from chalicelib.errors import ValidationFailed
from chalicelib.ports import UrlSigner

_SEGMENT_NAME = re.compile(r"^(\d{1,15})\.ts$")
_EXTINF = re.compile(r"^#EXTINF:([0-9.]+)")
_ENTRY_TAGS = ("#EXTINF:", "#EXT-X-PROGRAM-DATE-TIME:", "#EXT-X-BYTERANGE:")
_DISCONTINUITY = "#EXT-X-DISCONTINUITY"
_SEQUENCE_TAGS = ("#EXT-X-MEDIA-SEQUENCE:", "#EXT-X-DISCONTINUITY-SEQUENCE:")


@dataclass(frozen=True)
class LiveLinkScope:
    """What a verified live-playlist request allows: from the signed URL's query and policy."""

    link: str
    camera_id: str
    since_ms: int
    expires_at: int
    cidr: str | None


def live_playlist_url(edge_base: str, camera_id: str, request_id: str, issued_s: int) -> str:
    """The unsigned URL of a live link: the resource its signature covers exactly."""
    return f"{edge_base.rstrip('/')}/live/{camera_id}/index.m3u8?link={request_id}&since={issued_s}"


def live_segment_name(started_ms: int) -> str:
    return f"{started_ms}.ts"


def scope_of(camera_id: str, query: str, policy: dict[str, Any]) -> LiveLinkScope:
    """The scope of a live-playlist request whose signature was verified (``policy`` decoded)."""
    params = parse_qs(query, keep_blank_values=True)
    links, since = params.get("link", []), params.get("since", [])
    if len(links) != 1 or len(since) != 1 or not since[0].isdigit():
        raise ValidationFailed("a live link names exactly one link and one since")
    try:
        condition = policy["Statement"][0]["Condition"]
        expires_at = int(condition["DateLessThan"]["AWS:EpochTime"])
        cidr = condition.get("IpAddress", {}).get("AWS:SourceIp")
    except (KeyError, IndexError, TypeError, ValueError) as exc:
        raise ValidationFailed("the live link's policy has no expiry") from exc
    return LiveLinkScope(link=links[0], camera_id=camera_id, since_ms=int(since[0]) * 1000, expires_at=expires_at,
                         cidr=None if cidr is None else str(cidr))


def _span(entry: list[str]) -> tuple[int, float] | None:
    """(start ms, duration ms) of a playlist entry named ``<start_ms>.ts`` with an ``#EXTINF``; None otherwise."""
    found = _SEGMENT_NAME.match(entry[-1])
    duration = next((float(m.group(1)) for m in map(_EXTINF.match, entry) if m), None)
    return None if found is None or duration is None else (int(found.group(1)), duration * 1000)


def sign_live_playlist(playlist: str, scope: LiveLinkScope, *, edge_base: str, signer: UrlSigner) -> str:
    """The gateway's playlist with each segment signed for itself and older segments dropped.

    A segment is kept when it was still being recorded one segment length before the link was
    issued: the newest published segment at that moment is the first a player gets (a player
    needs one to start), everything older is out of reach. Dropped entries advance ``#EXT-X-MEDIA-SEQUENCE`` (and the
    discontinuity sequence) so a player's numbering stays the gateway's. Entries whose URI is not
    a ``<start_ms>.ts`` name are dropped too: nothing unsigned or foreign passes through.
    """
    base = f"{edge_base.rstrip('/')}/live/{scope.camera_id}/"
    header: list[str] = []
    entries: list[list[str]] = []
    pending: list[str] = []
    for raw in playlist.splitlines():
        line = raw.strip()
        if not line:
            continue
        if (not entries and not pending and line.startswith("#") and not line.startswith(_ENTRY_TAGS)
                and line != _DISCONTINUITY):
            header.append(line)
        elif line.startswith("#"):
            pending.append(line)
        else:
            entries.append([*pending, line])
            pending = []
    spans = [_span(entry) for entry in entries]
    # The newest segment already complete when the link was issued is the first a player gets, whatever its
    # length (a short tail segment may have ended long before the issue); every older one is out of reach.
    first = max((i for i, span in enumerate(spans) if span and span[0] + span[1] <= scope.since_ms), default=0)
    media_sequence = discontinuity_sequence = 0
    kept: list[str] = []
    for i, (entry, span) in enumerate(zip(entries, spans, strict=True)):
        uri = entry[-1]
        if span is None or i < first:
            if not kept:  # leading entries slide out of the numbering
                media_sequence += 1
                discontinuity_sequence += entry.count(_DISCONTINUITY)
            continue
        url = f"{base}{uri}?link={scope.link}"
        tags = [tag for tag in entry[:-1] if kept or tag != _DISCONTINUITY]
        kept += [*tags, signer.sign(url, expires_at=scope.expires_at, ip_cidr=scope.cidr)]
    out: list[str] = []
    for line in header:
        for tag, extra in zip(_SEQUENCE_TAGS, (media_sequence, discontinuity_sequence), strict=True):
            if line.startswith(tag):
                line = f"{tag}{int(line[len(tag):]) + extra}"
        out.append(line)
    return "\n".join([*out, *kept, *pending]) + "\n"


_SAFE_B64 = re.compile(r"[A-Za-z0-9\-_~]+")


def cloudfront_b64decode(value: str) -> bytes:
    """CloudFront's URL-safe base64 (``-`` ``_`` ``~`` for ``+`` ``=`` ``/``)."""
    if not _SAFE_B64.fullmatch(value):
        raise ValueError("not CloudFront-safe base64")
    standard = value.replace("-", "+").replace("_", "=").replace("~", "/")
    return base64.b64decode(standard + "=" * (-len(standard) % 4), validate=True)


def decode_policy(policy_b64: str) -> dict[str, Any]:
    """The JSON of a ``Policy`` parameter (no signature check: for code behind a verifying edge)."""
    policy = json.loads(cloudfront_b64decode(policy_b64))
    if not isinstance(policy, dict):
        raise ValueError("policy is not a JSON object")
    return policy
