"""The local media edge over real HTTP on loopback, reading S3 (moto) through the real adapter."""

from __future__ import annotations

import http.client
import json
import os
import socket
import stat
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import boto3
import pytest
import requests
from moto import mock_aws

import local.media_edge as media_edge
from chalicelib.adapters.cloudfront import CloudFrontUrlSigner
from chalicelib.adapters.s3 import S3ObjectStore
from local.keys import PRIVATE_KEY_FILE, ensure_signing_key
from local.media_edge import MediaEdge

REGION = "ap-northeast-2"
BUCKET = "golden-time-test-footage"
DAY = "cam-0001/2027/01/15"
SEGMENT_KEY = f"{DAY}/seg-00001.ts"
SEGMENT = bytes(range(256)) * 1200 + b"tail"  # 307,204 bytes, every offset distinguishable enough
PLAYLIST_KEY = f"{DAY}/index.m3u8"
PLAYLIST = "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:10\n#EXTINF:10.0,\nseg-00001.ts\n#EXT-X-ENDLIST\n"
LIVE = "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:7\n#EXTINF:2.0,\nseg-7.ts\n"


@dataclass
class Edge:
    server: MediaEdge
    signer: CloudFrontUrlSigner
    records: list[dict[str, Any]]

    def url(self, path: str) -> str:
        return f"{self.server.base_url}{path}"

    def signed(self, path: str, *, ttl_s: int = 300, **kwargs: Any) -> str:
        return self.signer.sign(self.url(path), expires_at=int(time.time()) + ttl_s, **kwargs)

    def wait_for_records(self, count: int) -> list[dict[str, Any]]:
        """The access record is written just after the response, so the client may see it first."""
        deadline = time.monotonic() + 5
        while len(self.records) < count and time.monotonic() < deadline:
            time.sleep(0.01)
        return self.records


@pytest.fixture(scope="module")
def signing_key(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, bytes, bytes]:
    return ensure_signing_key(tmp_path_factory.mktemp("keys"))


@pytest.fixture(scope="module")
def store() -> Iterator[S3ObjectStore]:
    """One mocked bucket for the module; the tests only read it."""
    with mock_aws():
        client = boto3.client("s3", region_name=REGION)
        client.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
        footage = S3ObjectStore(client, BUCKET)
        footage.put(SEGMENT_KEY, SEGMENT, content_type="application/octet-stream")
        footage.put(PLAYLIST_KEY, PLAYLIST.encode(), content_type="application/octet-stream")
        footage.put(f"{DAY}/empty.bin", b"", content_type="application/octet-stream")
        yield footage


class _Live:
    """A live origin with one camera: its playlist names the link that asked, its one segment is SEGMENT."""

    def __init__(self, store: S3ObjectStore) -> None:
        self._store = store

    def playlist(self, camera_id: str, grant: Any) -> str | None:
        return LIVE + f"#asked-by:{urlsplit(grant.url).query}\n" if camera_id == "cam-0001" else None

    def segment(self, camera_id: str, name: str) -> tuple[S3ObjectStore, str] | None:
        return (self._store, SEGMENT_KEY) if (camera_id, name) == ("cam-0001", "seg-7.ts") else None


@pytest.fixture
def make_edge(store: S3ObjectStore, signing_key: tuple[str, bytes, bytes]) -> Iterator[Callable[..., Edge]]:
    key_id, private_pem, public_pem = signing_key
    started: list[MediaEdge] = []

    def make(**kwargs: Any) -> Edge:
        records: list[dict[str, Any]] = []
        kwargs.setdefault("live", _Live(store))
        server = MediaEdge({"footage": store}, {key_id: public_pem}, port=0, on_access=records.append, **kwargs)
        started.append(server.start())
        return Edge(server, CloudFrontUrlSigner(key_id, private_pem), records)

    yield make
    for server in started:
        server.stop()


@pytest.fixture
def edge(make_edge: Callable[..., Edge]) -> Edge:
    return make_edge()


def _get_from(source_ip: str, url: str, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    """GET with the client socket bound to ``source_ip`` (all of 127.0.0.0/8 is local)."""
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=10, source_address=(source_ip, 0))
    try:
        conn.request("GET", f"{parts.path}?{parts.query}", headers=headers or {})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def _forbidden(response: requests.Response) -> str:
    assert response.status_code == 403
    assert response.headers["Access-Control-Allow-Origin"] == "*"  # a player in the console's page can read why
    body = response.json()
    assert body["error"]["code"] == "forbidden"
    return str(body["error"]["message"])


def test_valid_link_serves_the_exact_bytes(edge: Edge) -> None:
    # GIVEN a link signed for one segment
    url = edge.signed(f"/footage/{SEGMENT_KEY}")

    # WHEN it is fetched
    response = requests.get(url, timeout=10)

    # THEN the object comes back whole, typed as a transport-stream segment
    assert response.status_code == 200
    assert response.content == SEGMENT
    assert response.headers["Content-Type"] == "video/mp2t"
    assert response.headers["Content-Length"] == str(len(SEGMENT))
    assert response.headers["Accept-Ranges"] == "bytes"


def test_object_streamed_in_chunks_is_exact(edge: Edge, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(media_edge, "CHUNK_BYTES", 100_000)  # four ranged S3 reads

    response = requests.get(edge.signed(f"/footage/{SEGMENT_KEY}"), timeout=10)

    assert response.content == SEGMENT


def test_expired_link_is_forbidden(edge: Edge) -> None:
    url = edge.signed(f"/footage/{SEGMENT_KEY}", ttl_s=-1)

    assert _forbidden(requests.get(url, timeout=10)) == "expired"


def test_not_yet_valid_link_is_forbidden(edge: Edge) -> None:
    url = edge.signed(f"/footage/{SEGMENT_KEY}", ttl_s=600, not_before=int(time.time()) + 300)

    assert _forbidden(requests.get(url, timeout=10)) == "not yet valid"


def test_unsigned_request_is_forbidden(edge: Edge) -> None:
    assert _forbidden(requests.get(edge.url(f"/footage/{SEGMENT_KEY}"), timeout=10)) == "missing signature"


def test_link_is_bound_to_the_source_address(edge: Edge) -> None:
    # GIVEN a link bound to 127.0.0.2 only
    url = edge.signed(f"/footage/{SEGMENT_KEY}", ip_cidr="127.0.0.2/32")

    # WHEN 127.0.0.1 uses it THEN it is refused
    assert _forbidden(requests.get(url, timeout=10)) == "source ip not allowed"
    status, _ = _get_from("127.0.0.3", url)
    assert status == 403

    # WHEN 127.0.0.2 uses it THEN it is served
    status, body = _get_from("127.0.0.2", url)
    assert (status, body) == (200, SEGMENT)
    records = edge.wait_for_records(3)
    assert [(r["client_ip"], r["status"]) for r in records] == [("127.0.0.1", 403), ("127.0.0.3", 403), ("127.0.0.2", 200)]


def test_forwarded_for_counts_only_behind_a_trusted_proxy(make_edge: Callable[..., Edge]) -> None:
    # GIVEN a link for 127.0.0.2 and a request from 127.0.0.1 claiming to forward 127.0.0.2
    direct = make_edge()
    url = direct.signed(f"/footage/{SEGMENT_KEY}", ip_cidr="127.0.0.2")
    claim = {"X-Forwarded-For": "127.0.0.2"}

    # THEN an edge that does not trust 127.0.0.1 ignores the header
    assert _forbidden(requests.get(url, headers=claim, timeout=10)) == "source ip not allowed"

    # AND an edge behind a trusted proxy on 127.0.0.1 takes the forwarded client
    proxied = make_edge(trusted_proxies=["127.0.0.1/32"])
    proxied_url = proxied.signed(f"/footage/{SEGMENT_KEY}", ip_cidr="127.0.0.2")
    assert requests.get(proxied_url, headers=claim, timeout=10).content == SEGMENT
    spoofed = {"X-Forwarded-For": "127.0.0.2, 10.9.9.9"}  # right-most untrusted hop is the viewer
    assert _forbidden(requests.get(proxied_url, headers=spoofed, timeout=10)) == "source ip not allowed"


def _ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as probe:
            probe.bind(("::1", 0))
    except OSError:
        return False
    return True


@pytest.mark.skipif(not _ipv6_loopback(), reason="no IPv6 loopback on this host")
def test_ipv6_viewer_inside_and_outside_the_cidr(make_edge: Callable[..., Edge]) -> None:
    # GIVEN an edge listening on ::1
    edge = make_edge(host="::1")
    assert edge.server.base_url.startswith("http://[::1]:")

    # THEN a link for ::/64 around the viewer is served and one for another prefix is not
    inside = edge.signed(f"/footage/{SEGMENT_KEY}", ip_cidr="::/64")
    assert requests.get(inside, timeout=10).content == SEGMENT
    outside = edge.signed(f"/footage/{SEGMENT_KEY}", ip_cidr="2001:db8::/32")
    assert _forbidden(requests.get(outside, timeout=10)) == "source ip not allowed"
    assert edge.wait_for_records(2)[0]["client_ip"] == "::1"


def test_dot_segments_are_not_resolved(edge: Edge) -> None:
    # GIVEN a wildcard link for one camera's folder, used with a path that climbs out of it
    url = edge.signer.sign(edge.url(f"/footage/{DAY}/../../cam-0001/2027/01/15/seg-00001.ts"),
                           expires_at=int(time.time()) + 60, resource=edge.url(f"/footage/{DAY}/*"))
    parts = urlsplit(url)
    conn = http.client.HTTPConnection("127.0.0.1", edge.server.port, timeout=10)  # sends the path as is

    conn.request("GET", f"{parts.path}?{parts.query}")

    assert conn.getresponse().status == 404
    conn.close()


def test_tampered_signature_or_policy_is_forbidden(edge: Edge) -> None:
    url = edge.signed(f"/footage/{SEGMENT_KEY}")
    query = parse_qs(urlsplit(url).query)
    signature, policy = query["Signature"][0], query["Policy"][0]
    longer = parse_qs(urlsplit(edge.signed(f"/footage/{SEGMENT_KEY}", ttl_s=86_400)).query)["Policy"][0]
    flipped = signature[:20] + ("B" if signature[20] == "A" else "A") + signature[21:]

    assert _forbidden(requests.get(url.replace(signature, flipped), timeout=10)) == "bad signature"
    assert _forbidden(requests.get(url.replace(policy, longer), timeout=10)) == "bad signature"
    other_object = url.replace("seg-00001.ts", "index.m3u8")
    assert _forbidden(requests.get(other_object, timeout=10)) == "resource mismatch"


@pytest.mark.parametrize(("header", "start", "end"), [
    ("bytes=100-199", 100, 199),
    ("bytes=307000-", 307000, len(SEGMENT) - 1),
    ("bytes=-10", len(SEGMENT) - 10, len(SEGMENT) - 1),
    ("bytes=307200-999999999", 307200, len(SEGMENT) - 1),
])
def test_range_request_returns_exactly_that_slice(edge: Edge, header: str, start: int, end: int) -> None:
    response = requests.get(edge.signed(f"/footage/{SEGMENT_KEY}"), headers={"Range": header}, timeout=10)

    assert response.status_code == 206
    assert response.content == SEGMENT[start:end + 1]
    assert response.headers["Content-Range"] == f"bytes {start}-{end}/{len(SEGMENT)}"
    assert response.headers["Content-Length"] == str(end - start + 1)
    assert edge.wait_for_records(1)[0]["range"] == [start, end]


def test_unsatisfiable_range_is_416(edge: Edge) -> None:
    url = edge.signed(f"/footage/{SEGMENT_KEY}")

    response = requests.get(url, headers={"Range": f"bytes={len(SEGMENT)}-"}, timeout=10)

    assert response.status_code == 416
    assert response.headers["Content-Range"] == f"bytes */{len(SEGMENT)}"
    assert response.json()["error"]["code"] == "range_not_satisfiable"
    empty = edge.signed(f"/footage/{DAY}/empty.bin")
    assert requests.get(empty, headers={"Range": "bytes=-5"}, timeout=10).status_code == 416
    assert requests.get(empty, timeout=10).content == b""


def test_multiple_ranges_are_answered_with_the_whole_object(edge: Edge) -> None:
    response = requests.get(edge.signed(f"/footage/{SEGMENT_KEY}"), headers={"Range": "bytes=0-1,5-6"}, timeout=10)

    assert (response.status_code, response.content) == (200, SEGMENT)


def test_head_sends_headers_only(edge: Edge) -> None:
    url = edge.signed(f"/footage/{SEGMENT_KEY}")

    response = requests.head(url, headers={"Range": "bytes=0-9"}, timeout=10)

    assert response.status_code == 206
    assert response.headers["Content-Length"] == "10"
    assert response.content == b""
    assert edge.wait_for_records(1)[0]["bytes"] == 0


def test_stored_playlist_is_served_as_stored(edge: Edge) -> None:
    # GIVEN a playlist signed for itself only
    url = edge.signed(f"/footage/{PLAYLIST_KEY}")

    # WHEN the player fetches it
    response = requests.get(url, timeout=10)

    # THEN it comes back byte for byte (a link's playlist already carries each segment's own
    # signature); its relative segment URI, without a signature, is refused
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/vnd.apple.mpegurl"
    assert response.text == PLAYLIST
    assert _forbidden(requests.get(urljoin(url, "seg-00001.ts"), timeout=10)) == "missing signature"


def test_live_playlist_and_segments_from_the_live_origin(edge: Edge) -> None:
    url = edge.signed("/live/cam-0001/index.m3u8?link=vl-00000000000000aa")

    response = requests.get(url, timeout=10)

    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/vnd.apple.mpegurl"
    assert response.headers["Cache-Control"] == "no-cache"
    assert response.text.startswith(LIVE) and "#asked-by:link=vl-00000000000000aa\n" in response.text
    segment = requests.get(edge.signed("/live/cam-0001/seg-7.ts"), timeout=10)
    assert (segment.status_code, segment.content) == (200, SEGMENT)
    for missing in ("/live/cam-0404/index.m3u8", "/live/cam-0001/seg-8.ts"):
        assert requests.get(edge.signed(missing), timeout=10).status_code == 404


def test_missing_object_is_404_after_verification(edge: Edge) -> None:
    response = requests.get(edge.signed(f"/footage/{DAY}/nope.ts"), timeout=10)

    assert response.status_code == 404
    assert response.json() == {"error": {"code": "not_found", "message": "no such object"}}
    assert requests.get(edge.signed("/elsewhere/x.ts"), timeout=10).status_code == 404
    assert _forbidden(requests.get(edge.url(f"/footage/{DAY}/nope.ts"), timeout=10)) == "missing signature"


def test_revoked_link_is_forbidden(make_edge: Callable[..., Edge]) -> None:
    edge = make_edge(is_revoked=lambda path, policy: "case closed" if path.endswith(".ts") else None)

    response = requests.get(edge.signed(f"/footage/{SEGMENT_KEY}"), timeout=10)

    assert _forbidden(response) == "revoked: case closed"
    assert requests.get(edge.signed(f"/footage/{PLAYLIST_KEY}"), timeout=10).status_code == 200


def test_only_get_and_head(edge: Edge) -> None:
    response = requests.post(edge.signed(f"/footage/{SEGMENT_KEY}"), data=b"x", timeout=10)

    assert response.status_code == 405
    assert response.headers["Allow"] == "GET, HEAD"


def test_access_log_and_verification_time(edge: Edge) -> None:
    # GIVEN one good and one expired request
    good = edge.signed(f"/footage/{SEGMENT_KEY}")
    requests.get(good, timeout=10)
    requests.get(edge.signed(f"/footage/{SEGMENT_KEY}", ttl_s=-5), timeout=10)

    # THEN each produced one record, without the signature, and a verification time
    # (the edge writes each record after its response, so two requests' records may land in either order)
    first, second = sorted(edge.wait_for_records(2), key=lambda record: record["status"])
    assert first["path"] == f"/footage/{SEGMENT_KEY}"
    assert (first["status"], first["reason"], first["bytes"], first["client_ip"]) == (200, "ok", len(SEGMENT), "127.0.0.1")
    assert first["key_pair_id"] == edge.signer.key_pair_id
    denial = json.dumps({"error": {"code": "forbidden", "message": "expired"}}).encode()
    assert (second["status"], second["reason"], second["bytes"]) == (403, "expired", len(denial))
    assert all("Signature" not in str(record) for record in (first, second))
    assert len(edge.server.verify_seconds) == 2
    assert 0 < max(edge.server.verify_seconds) < 0.05
    assert edge.server.verify_summary()["count"] == 2


def test_keep_alive_and_clean_stop(make_edge: Callable[..., Edge]) -> None:
    # GIVEN two requests over one persistent connection (other edges, e.g. the e2e platform's, may run too)
    others = {t for t in threading.enumerate() if t.name == "media-edge"}
    edge = make_edge()
    url = urlsplit(edge.signed(f"/footage/{SEGMENT_KEY}"))
    conn = http.client.HTTPConnection("127.0.0.1", edge.server.port, timeout=10)
    for _ in range(2):
        conn.request("GET", f"{url.path}?{url.query}", headers={"Range": "bytes=0-3"})
        response = conn.getresponse()
        assert (response.status, response.read()) == (206, SEGMENT[:4])

    # WHEN the edge stops with that connection still open
    started = time.monotonic()
    edge.server.stop()

    # THEN it stops promptly and the connection is closed
    assert time.monotonic() - started < 2
    assert not [t for t in threading.enumerate() if t.name == "media-edge" and t not in others]
    with pytest.raises((ConnectionError, http.client.HTTPException, OSError)):
        _request_again(conn, f"{url.path}?{url.query}")
    conn.close()


def _request_again(conn: http.client.HTTPConnection, target: str) -> None:
    conn.request("GET", target)
    conn.getresponse()


def test_signing_key_is_made_once_and_kept_private(tmp_path: Path) -> None:
    key_id, private_pem, public_pem = ensure_signing_key(tmp_path / "keys")

    again = ensure_signing_key(tmp_path / "keys")

    assert again == (key_id, private_pem, public_pem)
    assert key_id.startswith("K")
    assert len(key_id) == 13
    assert key_id[1:] == key_id[1:].upper()
    assert stat.S_IMODE(os.stat(tmp_path / "keys" / PRIVATE_KEY_FILE).st_mode) == 0o600
    assert b"PRIVATE KEY" in private_pem
    assert b"PUBLIC KEY" in public_pem
