"""Secret material: a Secrets Manager secret in the cloud, or (for keys that have one locally) a file.

Every failure is a domain error: a secret that is missing, unreadable or empty is a ``PermanentError``
(configuration; retrying cannot fix it), a throttled or failed call a ``TransientError``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from chalicelib.errors import PermanentError, TransientError

# Codes that name a configuration problem rather than a passing one.
_PERMANENT_CODES = frozenset({"ResourceNotFoundException", "AccessDeniedException", "DecryptionFailure",
                              "InvalidRequestException", "InvalidParameterException"})


def read_secret(secretsmanager: Any, secret_id: str) -> bytes:
    """The value of one Secrets Manager secret: its ``SecretString`` as UTF-8, else its ``SecretBinary``."""
    try:
        reply = secretsmanager.get_secret_value(SecretId=secret_id)
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        if code in _PERMANENT_CODES:
            raise PermanentError(f"secret {secret_id!r} cannot be read ({code})") from exc
        raise TransientError(f"secret {secret_id!r}: {code or exc}") from exc
    text = reply.get("SecretString")
    value = text.encode() if text is not None else bytes(reply.get("SecretBinary") or b"")
    if not value:
        raise PermanentError(f"secret {secret_id!r} is empty")
    return value


def load_secret(source: str | None, secretsmanager: Any | None = None, *, what: str, setting: str) -> bytes:
    """The bytes ``source`` names: an existing file path (local platform), else a Secrets Manager secret id.

    ``what`` and ``setting`` (the Settings variable that configures it) only word the errors.
    """
    if not source:
        raise PermanentError(f"no {what} configured ({setting})")
    path = Path(source)
    if path.is_file():
        return path.read_bytes()
    if secretsmanager is None:
        raise PermanentError(f"{what} {source!r} is not a file and no Secrets Manager client was given")
    return read_secret(secretsmanager, source)
