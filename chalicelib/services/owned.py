"""Owner-scoped records: every stored object records its owner and every read checks it.

Another owner's id answers exactly like a missing one (404), so ids leak nothing.
"""

from __future__ import annotations

from typing import Any

from chalicelib.errors import ConditionFailed, Conflict, NotFound
from chalicelib.ports import Table

_SK = "record"


class OwnedRecords:
    """Records of one kind (``DEVICE``, ``TRIP`` ...) in the shared records table."""

    def __init__(self, table: Table, kind: str) -> None:
        self._table = table
        self.kind = kind.upper()

    def _pk(self, record_id: str) -> str:
        return f"{self.kind}#{record_id}"

    def create(self, record_id: str, owner_id: str, body: dict[str, Any], *, created_ms: int) -> None:
        item = {**body, "pk": self._pk(record_id), "sk": _SK, "owner_id": owner_id, "created_ms": created_ms}
        try:
            self._table.put(item, if_absent=True)
        except ConditionFailed as exc:
            raise Conflict(f"{self.kind.lower()} {record_id} already exists") from exc

    def get(self, record_id: str, owner_id: str | None) -> dict[str, Any]:
        """The record's body; ``owner_id=None`` reads as the platform (operators, workers)."""
        item = self._table.get({"pk": self._pk(record_id), "sk": _SK})
        if item is None or (owner_id is not None and item.get("owner_id") != owner_id):
            raise NotFound(f"no {self.kind.lower()} {record_id}")
        return _body(item)

    def get_many(self, record_ids: list[str]) -> dict[str, dict[str, Any]]:
        """The bodies of those records that exist, read as the platform (workers), in one round trip."""
        items = self._table.get_many([{"pk": self._pk(r), "sk": _SK} for r in record_ids])
        return {r: _body(item) for r, item in zip(record_ids, items, strict=True) if item is not None}

    def replace(self, record_id: str, body: dict[str, Any], *, expect: dict[str, Any] | None = None) -> None:
        """Overwrite a record's body (owner and creation time kept); ``expect`` guards state changes."""
        current = self._table.get({"pk": self._pk(record_id), "sk": _SK})
        if current is None:
            raise NotFound(f"no {self.kind.lower()} {record_id}")
        item = {**body, "pk": current["pk"], "sk": _SK, "owner_id": current["owner_id"],
                "created_ms": current["created_ms"]}
        try:
            self._table.put(item, expect=expect)
        except ConditionFailed as exc:
            raise Conflict(f"{self.kind.lower()} {record_id} changed concurrently") from exc

    def owned_by(self, owner_id: str, *, limit: int = 100) -> list[dict[str, Any]]:
        items = self._table.query("owner_id", owner_id, index="by-owner", limit=limit, descending=True)
        return [_body(i) for i in items if str(i.get("pk", "")).startswith(f"{self.kind}#")]


def _body(item: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in item.items() if k not in {"pk", "sk"}}
