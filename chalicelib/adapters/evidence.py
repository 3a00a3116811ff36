"""The evidence vault on S3 Object Lock (legal holds, no default retention) and the receipt signer."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

PSS = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.DIGEST_LENGTH)


class S3EvidenceVault:
    def __init__(self, client: Any, vault_bucket: str) -> None:
        self._s3 = client
        self._bucket = vault_bucket

    def store(self, key: str, data: bytes, content_type: str = "application/octet-stream") -> None:
        # S3 checks the SHA-256 it is sent against the bytes it stores (and Object Lock requires a checksum)
        checksum = base64.b64encode(hashlib.sha256(data).digest()).decode()
        self._s3.put_object(Bucket=self._bucket, Key=key, Body=data, ContentType=content_type,
                            ObjectLockLegalHoldStatus="ON", ChecksumAlgorithm="SHA256", ChecksumSHA256=checksum)

    def read(self, key: str) -> bytes:
        body: bytes = self._s3.get_object(Bucket=self._bucket, Key=key)["Body"].read()
        return body

    def _versions(self, key: str) -> list[str]:
        reply = self._s3.list_object_versions(Bucket=self._bucket, Prefix=key)
        return [v["VersionId"] for v in [*reply.get("Versions", []), *reply.get("DeleteMarkers", [])]
                if v["Key"] == key]

    def release(self, key: str) -> None:
        for version in self._versions(key):
            self._s3.put_object_legal_hold(Bucket=self._bucket, Key=key, VersionId=version,
                                           LegalHold={"Status": "OFF"})

    def destroy(self, key: str) -> None:
        for version in self._versions(key):
            self._s3.delete_object(Bucket=self._bucket, Key=key, VersionId=version)

    def is_held(self, key: str) -> bool:
        reply = self._s3.get_object_legal_hold(Bucket=self._bucket, Key=key)
        return bool(reply["LegalHold"]["Status"] == "ON")


class RsaReceiptSigner:
    """RSASSA-PSS with SHA-256 over the receipt's canonical bytes, with the URL-signing key pair."""

    def __init__(self, private_key_pem: bytes) -> None:
        key = serialization.load_pem_private_key(private_key_pem, password=None)
        if not isinstance(key, rsa.RSAPrivateKey):
            raise ValueError("receipts are signed with an RSA key")
        self._key = key

    def sign(self, document: bytes) -> bytes:
        return self._key.sign(document, PSS, hashes.SHA256())

    def public_key_pem(self) -> bytes:
        return self._key.public_key().public_bytes(serialization.Encoding.PEM,
                                                   serialization.PublicFormat.SubjectPublicKeyInfo)
