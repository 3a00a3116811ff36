"""Lambda function URL behind CloudFront's ``live/*/index.m3u8`` behaviour: the live playlist of a link.

CloudFront has verified the link's signature (trusted key group) and the viewer-request function
its revocation, and forwards the request here (origin access control: only CloudFront may call).
The camera gateway's playlist (``live/<camera>/index.m3u8`` in the media bucket) comes back with
each segment signed for itself, only the segments of the link's lifetime
(:func:`chalicelib.services.video_links.live_playlists.sign_live_playlist`, the code the local edge runs).
The edge's own address arrives in ``x-edge-host``, set by the viewer-request function.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any
from urllib.parse import parse_qs

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from chalicelib.adapters.cloudfront import CloudFrontUrlSigner
from chalicelib.adapters.resources import Resources
from chalicelib.adapters.signing_key import signer_from_settings
from chalicelib.errors import ObjectMissing, ValidationFailed
from chalicelib.ports import ObjectStore
from chalicelib.services.video_links.live_playlists import decode_policy, scope_of, sign_live_playlist
from chalicelib.settings import get_settings

logger = Logger(service="live-playlist")
_PATH = re.compile(r"^/live/([A-Za-z0-9._-]{1,64})/index\.m3u8$")
PLAYLIST_TYPE = "application/vnd.apple.mpegurl"


@lru_cache(maxsize=1)
def wiring() -> tuple[ObjectStore, CloudFrontUrlSigner]:
    resources = Resources(get_settings())
    return resources.store("media"), signer_from_settings(resources.settings, lambda: resources.client("secretsmanager"))


def _reply(status: int, body: str, content_type: str = "application/json") -> dict[str, Any]:
    return {"statusCode": status, "headers": {"content-type": content_type, "cache-control": "no-cache"}, "body": body}


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    found = _PATH.match(str(event.get("rawPath", "")))
    query = str(event.get("rawQueryString", ""))
    policies = parse_qs(query).get("Policy", [])
    host = (event.get("headers") or {}).get("x-edge-host")
    if found is None or len(policies) != 1 or not host:
        return _reply(404, '{"error": {"code": "not_found", "message": "no such live playlist"}}')
    media, signer = wiring()
    try:
        scope = scope_of(found.group(1), query, decode_policy(policies[0]))
        playlist = media.get(f"live/{scope.camera_id}/index.m3u8").decode("utf-8")
    except (ValidationFailed, ValueError):
        return _reply(403, '{"error": {"code": "forbidden", "message": "not a live link"}}')
    except ObjectMissing:
        return _reply(404, '{"error": {"code": "not_found", "message": "camera is not live"}}')
    return _reply(200, sign_live_playlist(playlist, scope, edge_base=f"https://{host}", signer=signer), PLAYLIST_TYPE)
