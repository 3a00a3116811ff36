"""SOS evidence for the receiving agency: one signed, IP-bound, expiring edge link per photo, audio or video
the phone uploaded, made when the dispatch is delivered (so every upload until then is in it).

Each link is a CloudFront custom-policy URL for exactly one object (``/media/<key>?link=<id>``, one id per dispatch), bound to the
agency's registered range, the same signing the agency video links use.
"""

from __future__ import annotations

import hashlib

from chalicelib.models.dispatch import EvidenceLink
from chalicelib.ports import ObjectStore, UrlSigner
from chalicelib.services.video_links.policy import object_url

EVIDENCE_LINK_S = 3600


def evidence_link_id(dispatch_id: str) -> str:
    """The link id of a dispatch's evidence (the edge's ``vl-`` + 16 hex form): revoking it cuts them all."""
    return "vl-" + hashlib.sha256(f"evidence:{dispatch_id}".encode()).hexdigest()[:16]


class EvidenceLinks:
    def __init__(self, media: ObjectStore, signer: UrlSigner, edge_base: str, *, ttl_s: int = EVIDENCE_LINK_S) -> None:
        self._media = media
        self._signer = signer
        self._base = edge_base
        self._ttl_s = ttl_s

    def for_agency(self, dispatch_id: str, prefix: str, cidr: str, now_ms: int) -> list[EvidenceLink]:
        return self.for_keys(dispatch_id, sorted(self._media.keys(prefix)), cidr, now_ms)

    def for_keys(self, dispatch_id: str, keys: list[str], cidr: str, now_ms: int) -> list[EvidenceLink]:
        expires_s = now_ms // 1000 + self._ttl_s
        return [EvidenceLink(key=key, expires_ms=expires_s * 1000,
                             url=self._signer.sign(object_url(self._base, f"/media/{key}", evidence_link_id(dispatch_id)),
                                                   expires_at=expires_s, ip_cidr=cidr))
                for key in keys]
