"""ObjectStore on S3."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from botocore.exceptions import ClientError

from chalicelib.errors import ObjectMissing, StoreError
from chalicelib.ports import ObjectInfo, PresignedPost

_MISSING = {"NoSuchKey", "404", "NotFound"}


class S3ObjectStore:
    def __init__(self, client: Any, bucket: str) -> None:
        self._s3 = client
        self.name = bucket

    def put(self, key: str, data: bytes, *, content_type: str = "application/octet-stream",
            metadata: Mapping[str, str] | None = None) -> None:
        try:
            self._s3.put_object(Bucket=self.name, Key=key, Body=data, ContentType=content_type,
                                Metadata=dict(metadata or {}))
        except ClientError as exc:
            raise StoreError(f"put {key}: {exc}") from exc

    def get(self, key: str) -> bytes:
        return self._get(key, None)

    def get_range(self, key: str, start: int, end: int) -> bytes:
        return self._get(key, f"bytes={start}-{end}")

    def _get(self, key: str, byte_range: str | None) -> bytes:
        kwargs: dict[str, str] = {"Bucket": self.name, "Key": key}
        if byte_range:
            kwargs["Range"] = byte_range
        try:
            body: bytes = self._s3.get_object(**kwargs)["Body"].read()
        except ClientError as exc:
            if exc.response["Error"]["Code"] in _MISSING:
                raise ObjectMissing(key) from exc
            raise StoreError(f"get {key}: {exc}") from exc
        return body

    def head(self, key: str) -> ObjectInfo:
        try:
            meta = self._s3.head_object(Bucket=self.name, Key=key)
        except ClientError as exc:
            if exc.response["Error"]["Code"] in _MISSING:
                raise ObjectMissing(key) from exc
            raise StoreError(f"head {key}: {exc}") from exc
        return ObjectInfo(key=key, size=int(meta["ContentLength"]), etag=meta["ETag"].strip('"'),
                          content_type=meta.get("ContentType", "application/octet-stream"),
                          last_modified_ms=int(meta["LastModified"].timestamp() * 1000))

    def delete(self, key: str) -> None:
        try:
            self._s3.delete_object(Bucket=self.name, Key=key)
        except ClientError as exc:
            raise StoreError(f"delete {key}: {exc}") from exc

    def keys(self, prefix: str = "") -> Iterator[str]:
        paginator = self._s3.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.name, Prefix=prefix):
            for obj in page.get("Contents", []):
                yield obj["Key"]

    def presigned_post(self, key: str, *, max_bytes: int, expires_s: int,
                       content_type: str | None = None) -> PresignedPost:
        conditions: list[Any] = [["content-length-range", 1, max_bytes], {"key": key}]
        fields: dict[str, str] = {}
        if content_type:
            conditions.append({"Content-Type": content_type})
            fields["Content-Type"] = content_type
        post = self._s3.generate_presigned_post(Bucket=self.name, Key=key, Fields=fields or None,
                                                Conditions=conditions, ExpiresIn=expires_s)
        return PresignedPost(url=post["url"], fields=dict(post["fields"]))

    def presigned_get(self, key: str, *, expires_s: int) -> str:
        url: str = self._s3.generate_presigned_url("get_object", Params={"Bucket": self.name, "Key": key},
                                                   ExpiresIn=expires_s)
        return url
