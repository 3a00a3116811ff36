"""Where revoked link ids are written for the edge: the CloudFront KeyValueStore the viewer-request
function reads (cloud), or a table (the local platform; its edge runs the same function on it).

KeyValueStore writes reach every edge location within seconds; AWS documents propagation as
eventually consistent, typically within a few seconds (a minute at worst in our runbook), so a
revoked link can still play for that long in the cloud; locally it stops on the next request.
"""

from __future__ import annotations

import logging
from typing import Any

from botocore.exceptions import ClientError

from chalicelib.errors import TransientError
from chalicelib.ports import Table

logger = logging.getLogger(__name__)

_RETRIED = {"ConflictException", "ValidationException"}
_ATTEMPTS = 3


class KeyValueStoreRevocations:
    """``RevocationList`` over the ``cloudfront-keyvaluestore`` API (PutKey with the store's ETag)."""

    def __init__(self, client: Any, kvs_arn: str) -> None:
        self._client = client
        self._arn = kvs_arn

    def revoke(self, link_id: str, reason: str) -> None:
        for attempt in range(1, _ATTEMPTS + 1):
            etag = self._client.describe_key_value_store(KvsARN=self._arn)["ETag"]
            try:
                self._client.put_key(KvsARN=self._arn, Key=link_id, Value=reason[:1000], IfMatch=etag)
                return
            except ClientError as exc:
                code = exc.response.get("Error", {}).get("Code", "")
                if code not in _RETRIED or attempt == _ATTEMPTS:
                    raise TransientError(f"revocation of {link_id} not written to the KeyValueStore: {code}") from exc
                logger.info("KeyValueStore changed under us (%s); retrying", code)

    def get(self, link_id: str) -> str | None:
        try:
            return str(self._client.get_key(KvsARN=self._arn, Key=link_id)["Value"])
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ResourceNotFoundException":
                return None
            raise TransientError(f"KeyValueStore read failed for {link_id}") from exc


class TableRevocations:
    """``RevocationList`` in a table (the records table, ``pk = EDGEKVS#<link>``)."""

    def __init__(self, table: Table) -> None:
        self._table = table

    def revoke(self, link_id: str, reason: str) -> None:
        self._table.put({"pk": f"EDGEKVS#{link_id}", "sk": "kvs", "value": reason[:1000]})

    def get(self, link_id: str) -> str | None:
        item = self._table.get({"pk": f"EDGEKVS#{link_id}", "sk": "kvs"})
        return None if item is None else str(item.get("value", ""))
