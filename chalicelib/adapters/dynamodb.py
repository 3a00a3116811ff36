"""Table on DynamoDB, with plain Python values in and out (floats become Decimals on the way in)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from decimal import Decimal
from typing import Any

from boto3.dynamodb.conditions import Attr, Key
from botocore.exceptions import ClientError

from chalicelib.catalog import TableSpec
from chalicelib.errors import ConditionFailed, StoreError


def _to_dynamo(value: Any) -> Any:
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, dict):
        return {k: _to_dynamo(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_to_dynamo(v) for v in value]
    return value


def _from_dynamo(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: _from_dynamo(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_from_dynamo(v) for v in value]
    return value


class DynamoTable:
    def __init__(self, resource: Any, spec: TableSpec) -> None:
        self._resource = resource
        self._table = resource.Table(spec.name)
        self.name = spec.name
        self._spec = spec

    def get(self, key: Mapping[str, Any]) -> dict[str, Any] | None:
        try:
            item = self._table.get_item(Key=_to_dynamo(dict(key)), ConsistentRead=True).get("Item")
        except ClientError as exc:
            raise StoreError(f"get {self.name}: {exc}") from exc
        return None if item is None else _from_dynamo(item)

    def get_many(self, keys: Sequence[Mapping[str, Any]]) -> list[dict[str, Any] | None]:
        """BatchGetItem, strongly consistent, 100 keys a call; keys DynamoDB leaves unprocessed are read alone."""
        names = [n for n in (self._spec.partition_key, self._spec.sort_key) if n]
        found: dict[tuple[Any, ...], dict[str, Any]] = {}
        try:
            for start in range(0, len(keys), 100):
                chunk = [_to_dynamo(dict(k)) for k in keys[start:start + 100]]
                reply = self._resource.batch_get_item(RequestItems={self.name: {"Keys": chunk, "ConsistentRead": True}})
                for item in reply.get("Responses", {}).get(self.name, []):
                    found[tuple(_from_dynamo(item.get(n)) for n in names)] = _from_dynamo(item)
                for key in reply.get("UnprocessedKeys", {}).get(self.name, {}).get("Keys", []):
                    item = self.get(_from_dynamo(key))
                    if item is not None:
                        found[tuple(item.get(n) for n in names)] = item
        except ClientError as exc:
            raise StoreError(f"batch get {self.name}: {exc}") from exc
        return [found.get(tuple(k.get(n) for n in names)) for k in keys]

    def put(self, item: Mapping[str, Any], *, if_absent: bool = False,
            expect: Mapping[str, Any] | None = None) -> None:
        kwargs: dict[str, Any] = {"Item": _to_dynamo(dict(item))}
        condition = None
        if if_absent:
            condition = Attr(self._spec.partition_key).not_exists()
        for name, value in (expect or {}).items():
            clause = Attr(name).eq(_to_dynamo(value)) if value is not None else Attr(name).not_exists()
            condition = clause if condition is None else condition & clause
        if condition is not None:
            kwargs["ConditionExpression"] = condition
        try:
            self._table.put_item(**kwargs)
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                raise ConditionFailed(f"{self.name}: condition failed") from exc
            raise StoreError(f"put {self.name}: {exc}") from exc

    def update(self, key: Mapping[str, Any], changes: Mapping[str, Any], *, expect: Mapping[str, Any] | None = None,
               counter: str | None = None, unless_newer: tuple[str, int] | None = None,
               create: bool = False) -> dict[str, Any]:
        """UpdateItem: SET ``changes`` and leave every other attribute as it is; answers the item as written."""
        names = {f"#u{i}": name for i, name in enumerate(changes)}
        values: dict[str, Any] = {f":u{i}": _to_dynamo(value) for i, value in enumerate(changes.values())}
        expression = "SET " + ", ".join(f"#u{i} = :u{i}" for i in range(len(changes)))
        if counter is not None:
            names["#uc"], values[":uone"] = counter, 1
            expression += " ADD #uc :uone"
        condition = None if create else Attr(self._spec.partition_key).exists()
        for name, value in (expect or {}).items():
            # None: absent, or stored as NULL (a model field dumped as None)
            clause = Attr(name).eq(_to_dynamo(value)) if value is not None else \
                Attr(name).not_exists() | Attr(name).attribute_type("NULL")
            condition = clause if condition is None else condition & clause
        if unless_newer is not None:
            clause = Attr(unless_newer[0]).not_exists() | Attr(unless_newer[0]).lte(unless_newer[1])
            condition = clause if condition is None else condition & clause
        kwargs: dict[str, Any] = {"Key": _to_dynamo(dict(key)), "UpdateExpression": expression,
                                  "ExpressionAttributeNames": names, "ExpressionAttributeValues": values,
                                  "ReturnValues": "ALL_NEW"}
        if condition is not None:
            kwargs["ConditionExpression"] = condition
        try:
            reply = self._table.update_item(**kwargs)
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                raise ConditionFailed(f"{self.name}: condition failed") from exc
            raise StoreError(f"update {self.name}: {exc}") from exc
        return dict(_from_dynamo(reply["Attributes"]))

    def put_many(self, items: Sequence[Mapping[str, Any]]) -> None:
        try:
            with self._table.batch_writer() as batch:
                for item in items:
                    batch.put_item(Item=_to_dynamo(dict(item)))
        except ClientError as exc:
            raise StoreError(f"batch put {self.name}: {exc}") from exc

    def delete(self, key: Mapping[str, Any]) -> None:
        try:
            self._table.delete_item(Key=_to_dynamo(dict(key)))
        except ClientError as exc:
            raise StoreError(f"delete {self.name}: {exc}") from exc

    def query(self, partition_key: str, value: Any, *, sort_between: tuple[Any, Any] | None = None,
              index: str | None = None, limit: int | None = None,
              descending: bool = False) -> list[dict[str, Any]]:
        condition = Key(partition_key).eq(_to_dynamo(value))
        if sort_between is not None:
            sort_name = self._sort_key_for(index)
            condition = condition & Key(sort_name).between(*_to_dynamo(list(sort_between)))
        kwargs: dict[str, Any] = {"KeyConditionExpression": condition, "ScanIndexForward": not descending}
        if index:
            kwargs["IndexName"] = index
        items: list[dict[str, Any]] = []
        try:
            while True:
                if limit is not None:
                    kwargs["Limit"] = limit - len(items)
                page = self._table.query(**kwargs)
                items.extend(_from_dynamo(i) for i in page.get("Items", []))
                start = page.get("LastEvaluatedKey")
                if not start or (limit is not None and len(items) >= limit):
                    return items
                kwargs["ExclusiveStartKey"] = start
        except ClientError as exc:
            raise StoreError(f"query {self.name}: {exc}") from exc

    def _sort_key_for(self, index: str | None) -> str:
        sort_key = self._spec.sort_key
        if index:
            sort_key = next((i.sort_key for i in self._spec.indexes if i.name == index), None)
        if sort_key is None:
            raise StoreError(f"{self.name}/{index}: no sort key")
        return sort_key

    def scan(self) -> Iterator[dict[str, Any]]:
        kwargs: dict[str, Any] = {}
        while True:
            page = self._table.scan(**kwargs)
            for item in page.get("Items", []):
                yield _from_dynamo(item)
            if "LastEvaluatedKey" not in page:
                return
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
