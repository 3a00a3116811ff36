"""The local URL-signing key pair: made once, kept on disk, reused by every later run."""

from __future__ import annotations

import contextlib
import hashlib
import os
import stat
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

PRIVATE_KEY_FILE = "cloudfront-signing-key.pem"
PUBLIC_KEY_FILE = "cloudfront-signing-key.pub.pem"


def key_pair_id(public_key: rsa.RSAPublicKey) -> str:
    """``K`` + the first 12 hex digits (upper-case) of the SHA-256 of the public key's DER."""
    der = public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return "K" + hashlib.sha256(der).hexdigest()[:12].upper()


def _write_new(path: Path, data: bytes, mode: int) -> bool:
    """Write ``data`` to ``path`` only if it does not exist yet (atomic); False if it did."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        try:
            os.link(tmp, path)  # fails if another process created the key first
        except FileExistsError:
            return False
        return True
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def ensure_signing_key(directory: Path) -> tuple[str, bytes, bytes]:
    """``(key_pair_id, private_pem, public_pem)``; an RSA-2048 pair is generated on first use.

    The private key is kept with mode 0600 (tightened if found looser); the public key is always
    derived from it, so the two can never disagree.
    """
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    private_path = directory / PRIVATE_KEY_FILE
    if not private_path.exists():
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
        _write_new(private_path, pem, 0o600)
    if stat.S_IMODE(private_path.stat().st_mode) & 0o077:
        os.chmod(private_path, 0o600)
    private_pem = private_path.read_bytes()
    private_key = serialization.load_pem_private_key(private_pem, password=None)
    if not isinstance(private_key, rsa.RSAPrivateKey):
        raise ValueError(f"{private_path} does not hold an RSA private key")
    public_key = private_key.public_key()
    public_pem = public_key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    public_path = directory / PUBLIC_KEY_FILE
    if not public_path.exists() or public_path.read_bytes() != public_pem:
        tmp = public_path.with_name(f".{public_path.name}.{os.getpid()}.tmp")
        tmp.write_bytes(public_pem)
        os.replace(tmp, public_path)
    return key_pair_id(public_key), private_pem, public_pem
