"""functions/live_playlist behind CloudFront's live/*/index.m3u8 behaviour, with a Lambda function URL
event (payload 2.0) under moto: the gateway's playlist comes back signed per segment for the link."""

from __future__ import annotations

import time
from functools import partial
from typing import Any

import cloudfront_oracle as oracle

from chalicelib.adapters.cloudfront import CloudFrontUrlSigner
from chalicelib.services.video_links.live_playlists import live_playlist_url
from functions.live_playlist import handler
from local.keys import PRIVATE_KEY_FILE, ensure_signing_key
from local.lambda_runtime import LambdaContext as RuntimeContext

HOST = "d111111abcdef8.cloudfront.net"
LINK = "vl-0123456789abcdef"


LambdaContext = partial(RuntimeContext, function_name="gt-test-fn-live-playlist", memory_limit_in_mb=256)


CONTEXT: Any = LambdaContext()  # the fields Powertools' logger reads


def _event(url: str, host: str | None = HOST) -> dict[str, Any]:
    path, _, query = url.split(HOST, 1)[1].partition("?")
    return {"version": "2.0", "routeKey": "$default", "rawPath": path, "rawQueryString": query,
            "headers": {"x-edge-host": host} if host else {}, "requestContext": {"http": {"method": "GET"}},
            "isBase64Encoded": False}


def test_a_live_link_gets_its_segments_signed(aws, tmp_path, monkeypatch):
    key_id, private, public = ensure_signing_key(tmp_path)
    monkeypatch.setenv("SIGNING_KEY_SECRET", str(tmp_path / PRIVATE_KEY_FILE))
    monkeypatch.setenv("CLOUDFRONT_KEY_PAIR_ID", key_id)
    from chalicelib.settings import get_settings

    get_settings.cache_clear()
    handler.wiring.cache_clear()
    now = int(time.time())
    gateway = "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:4\n#EXT-X-MEDIA-SEQUENCE:100\n" + "".join(
        f"#EXTINF:4.000,\n{(now - 16 + 4 * i) * 1000}.ts\n" for i in range(5))
    aws.store("media").put("live/CAM-7/index.m3u8", gateway.encode())
    signer = CloudFrontUrlSigner(key_id, private)
    url = signer.sign(live_playlist_url(f"https://{HOST}", "CAM-7", LINK, now), expires_at=now + 300,
                      ip_cidr="203.0.113.0/24")

    reply = handler.lambda_handler(_event(url), CONTEXT)

    assert reply["statusCode"] == 200 and reply["headers"]["content-type"] == "application/vnd.apple.mpegurl"
    uris = [line for line in reply["body"].splitlines() if line and not line.startswith("#")]
    assert len(uris) == 2 and "#EXT-X-MEDIA-SEQUENCE:103" in reply["body"]  # from the segment live at issue
    for uri in uris:
        assert uri.startswith(f"https://{HOST}/live/CAM-7/") and f"?link={LINK}&" in uri
        assert oracle.check(uri, viewer_ip="203.0.113.9", now=now, public_keys={key_id: public}).allowed
        assert not oracle.check(uri, viewer_ip="198.51.100.1", now=now, public_keys={key_id: public}).allowed
    assert handler.lambda_handler(_event(url, host=None), CONTEXT)["statusCode"] == 404
    missing = signer.sign(live_playlist_url(f"https://{HOST}", "CAM-8", LINK, now), expires_at=now + 300)
    assert handler.lambda_handler(_event(missing), CONTEXT)["statusCode"] == 404
    handler.wiring.cache_clear()
    get_settings.cache_clear()
