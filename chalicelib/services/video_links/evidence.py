"""Evidence preservation for exported incident footage (chain of custody).

Issuing a recorded link registers a hold (``EVIDENCE#<request>`` in the records table, status
``pending``) and queues its preservation: a worker copies the window's segments into the
Object-Lock evidence vault under a legal hold and records their SHA-256 manifest (``held``). A
2-hour, 10-camera export is gigabytes: never copied inside the API call. The retention job
preserves anything still pending before it deletes footage, and a receipt request preserves
its own request first, so nothing expires unpreserved. The hold lasts while the incident is open; closing it sets the release to
close + ``hold_days``. The hourly retention job releases and destroys copies whose release has
passed, and never touches a held one. The agency can fetch a signed receipt of the export
(incident, cameras, window, hashes, issued/expiry, issuer) and verify it with the published key.
Pure: the vault and the signer are ports.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import time
from collections.abc import Callable, Iterable
from typing import Any, Protocol

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from chalicelib.errors import NotFound
from chalicelib.models.footage import FootageSegment
from chalicelib.models.video_link import VideoLinkGrant
from chalicelib.ports import ObjectStore, Table

logger = logging.getLogger(__name__)

RECEIPT_ALGORITHM = "RSASSA-PSS-SHA256"
DAY_S = 86_400


class EvidenceVault(Protocol):
    """Object-Lock storage of evidence copies."""

    def release(self, key: str) -> None:
        """Lift the legal hold of every version of ``key``."""
        ...

    def destroy(self, key: str) -> None:
        """Delete every version of ``key`` (refused by the store while a hold stands)."""
        ...

    def store(self, key: str, data: bytes, content_type: str = "application/octet-stream") -> None:
        """Write ``data`` to ``key`` under a legal hold."""
        ...

    def read(self, key: str) -> bytes: ...


class DocumentSigner(Protocol):
    def sign(self, document: bytes) -> bytes: ...

    def public_key_pem(self) -> bytes: ...


def canonical(document: dict[str, Any]) -> bytes:
    """The bytes a receipt's signature covers: sorted keys, no white space, UTF-8."""
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def segment_digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class EvidenceLocker:
    def __init__(self, *, vault: EvidenceVault, footage_store: ObjectStore, records: Table, signer: DocumentSigner | None,
                 issuer: str, hold_days: int, clock: Callable[[], float] = time.time) -> None:
        self._vault = vault
        self._footage = footage_store
        self._records = records
        self._signer = signer
        self._issuer = issuer
        self._hold_days = hold_days
        self._clock = clock

    @staticmethod
    def _key(request_id: str) -> dict[str, str]:
        return {"pk": f"EVIDENCE#{request_id}", "sk": "hold"}

    def register(self, request_id: str, incident: str, agency: str) -> None:
        """The hold exists from the moment of issue; its copies follow (``pending``)."""
        self._records.put({**self._key(request_id), "request_id": request_id, "incident": incident,
                           "agency": agency, "status": "pending", "release_at": 0})

    def pending(self) -> list[str]:
        return [str(item["request_id"]) for item in self._records.scan()
                if str(item.get("pk", "")).startswith("EVIDENCE#") and item.get("status") == "pending"]

    def status(self, request_id: str) -> str | None:
        item = self._records.get(self._key(request_id))
        return None if item is None else str(item.get("status"))

    def preserve(self, request_id: str, incident: str, agency: str,
                 segments: Iterable[FootageSegment]) -> tuple[str, list[dict[str, Any]]]:
        """Copy the segments into the vault under a legal hold, with their SHA-256 manifest (held
        too: a 2-hour, 10-camera export lists thousands); returns the manifest's SHA-256 and it."""
        manifest = []
        for segment in segments:
            data = self._footage.get(segment.key)
            digest = segment_digest(data)  # of the bytes held, whatever the catalog recorded at ingest
            if segment.sha256 and segment.sha256 != digest:
                logger.warning("segment %s changed since ingest", segment.key)
            copy_key = f"evidence/{request_id}/{segment.key}"
            self._vault.store(copy_key, data, "video/mp2t")
            manifest.append({"camera_id": segment.camera_id, "key": segment.key, "evidence_key": copy_key,
                             "start_ms": segment.start_ms, "end_ms": segment.end_ms, "sha256": digest})
        data = canonical({"request_id": request_id, "segments": manifest})
        manifest_key = f"evidence/{request_id}/manifest.json"
        self._vault.store(manifest_key, data, "application/json")
        current = self._records.get(self._key(request_id)) or {}
        self._records.put({**self._key(request_id), "request_id": request_id, "incident": incident,
                           "agency": agency, "status": "held", "release_at": int(current.get("release_at", 0)),
                           "manifest_key": manifest_key, "manifest_sha256": segment_digest(data),
                           "segments": len(manifest)})
        return segment_digest(data), manifest

    def _manifest(self, item: dict[str, Any]) -> list[dict[str, Any]]:
        data = self._vault.read(str(item["manifest_key"]))
        if segment_digest(data) != item["manifest_sha256"]:
            raise ValueError(f"evidence manifest of {item['request_id']} does not match its recorded hash")
        entries: list[dict[str, Any]] = json.loads(data)["segments"]
        return entries

    def release_after_close(self, request_ids: Iterable[str]) -> int:
        """The incident closed: each hold ends ``hold_days`` from now. Returns how many were set."""
        release_at = int(self._clock()) + self._hold_days * DAY_S
        released = 0
        for request_id in request_ids:
            item = self._records.get(self._key(request_id))
            if item is None or item.get("status") not in ("held", "pending"):
                continue
            self._records.put({**item, "release_at": release_at})
            released += 1
        return released

    def enforce(self, now_s: int | None = None) -> int:
        """Release and destroy every copy whose hold has ended; returns how many objects went."""
        now = int(self._clock()) if now_s is None else now_s
        destroyed = 0
        for item in self._records.scan():
            if not str(item.get("pk", "")).startswith("EVIDENCE#") or item.get("status") != "held":
                continue
            release_at = int(item.get("release_at", 0))
            if release_at == 0 or release_at > now:
                continue  # the incident is open, or closed less than hold_days ago
            for key in [str(e["evidence_key"]) for e in self._manifest(item)] + [str(item["manifest_key"])]:
                self._vault.release(key)
                self._vault.destroy(key)
                destroyed += 1
            self._records.put({**item, "status": "destroyed", "destroyed_at": now})
        logger.info("evidence retention enforced", extra={"destroyed": destroyed})
        return destroyed

    def held(self, request_id: str) -> dict[str, Any]:
        item = self._records.get(self._key(request_id))
        if item is None:
            raise NotFound(f"no evidence record for {request_id}")
        return item

    def receipt(self, grant: VideoLinkGrant) -> dict[str, Any]:
        """The signed export receipt of a recorded request."""
        item = self.held(grant.request_id)
        document = {
            "receipt": "golden-time/video-export/v1",
            "request_id": grant.request_id, "incident": grant.incident_number, "agency": grant.agency_id,
            "officer": grant.officer_id, "purpose": grant.purpose,
            "cameras": sorted({link.camera_id for link in grant.links}),
            "window": None if grant.window is None else {"start": grant.window.start.isoformat(),
                                                         "end": grant.window.end.isoformat()},
            "segments": [{k: entry[k] for k in ("camera_id", "key", "start_ms", "end_ms", "sha256")}
                         for entry in self._manifest(item)],
            "issued_ms": grant.created_ms, "expires_at": grant.expires_at.isoformat(), "issuer": self._issuer,
        }
        if self._signer is None:
            raise NotFound("export receipts are not configured here")
        signature = self._signer.sign(canonical(document))
        return {"document": document, "algorithm": RECEIPT_ALGORITHM,
                "signature": base64.b64encode(signature).decode()}

    def public_key_pem(self) -> str:
        if self._signer is None:
            raise NotFound("export receipts are not configured here")
        return self._signer.public_key_pem().decode()


def verify_receipt(envelope: dict[str, Any], public_key_pem: bytes) -> dict[str, Any]:
    """The receipt's document when its signature verifies with ``public_key_pem`` (what an agency
    runs); ``InvalidSignature`` otherwise."""
    key = serialization.load_pem_public_key(public_key_pem)
    if not isinstance(key, rsa.RSAPublicKey):
        raise ValueError("not an RSA public key")
    document: dict[str, Any] = envelope["document"]
    pss = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.DIGEST_LENGTH)
    key.verify(base64.b64decode(envelope["signature"]), canonical(document), pss, hashes.SHA256())
    return document


def verify_segments(document: dict[str, Any], fetch: Callable[[str], bytes]) -> list[str]:
    """Keys of the receipt's segments whose bytes (``fetch(key)``) no longer match their SHA-256."""
    return [entry["key"] for entry in document["segments"] if segment_digest(fetch(entry["key"])) != entry["sha256"]]
