"""Adapters by logical name: the composition root services get their ports from."""

from __future__ import annotations

from functools import cached_property
from typing import Any

from chalicelib.adapters import aws
from chalicelib.adapters.dynamodb import DynamoTable
from chalicelib.adapters.s3 import S3ObjectStore
from chalicelib.adapters.secrets import read_secret
from chalicelib.adapters.sns import SnsNotifier
from chalicelib.adapters.sqs import SqsQueue
from chalicelib.catalog import ResourceCatalog, build_catalog
from chalicelib.errors import PermanentError
from chalicelib.settings import Settings


class Resources:
    """Builds each adapter once; cheap to keep at module level in a handler."""

    def __init__(self, settings: Settings, catalog: ResourceCatalog | None = None) -> None:
        self.settings = settings
        self.catalog = catalog or build_catalog(settings.stage)
        self._stores: dict[str, S3ObjectStore] = {}
        self._queues: dict[str, SqsQueue] = {}
        self._tables: dict[str, DynamoTable] = {}
        self._topics: dict[str, SnsNotifier] = {}

    def client(self, service: str) -> Any:
        return aws.client(service, self.settings)

    @cached_property
    def _dynamodb(self) -> Any:
        import boto3  # resource API: same endpoint/config as the client

        return boto3.resource("dynamodb", endpoint_url=self.settings.aws_endpoint_url,
                              region_name=self.settings.aws_region,
                              config=aws.client("dynamodb", self.settings).meta.config)

    @cached_property
    def account_id(self) -> str:
        return str(self.client("sts").get_caller_identity()["Account"])

    def store(self, logical: str) -> S3ObjectStore:
        if logical not in self._stores:
            self._stores[logical] = S3ObjectStore(self.client("s3"), self.catalog.bucket(logical))
        return self._stores[logical]

    def queue(self, logical: str) -> SqsQueue:
        if logical not in self._queues:
            self._queues[logical] = SqsQueue.by_name(self.client("sqs"), self.catalog.queue(logical).name)
        return self._queues[logical]

    def table(self, logical: str) -> DynamoTable:
        if logical not in self._tables:
            self._tables[logical] = DynamoTable(self._dynamodb, self.catalog.tables[logical])
        return self._tables[logical]

    def topic(self, logical: str) -> SnsNotifier:
        if logical not in self._topics:
            name = self.catalog.topic(logical)
            arn = f"arn:aws:sns:{self.settings.aws_region}:{self.account_id}:{name}"
            self._topics[logical] = SnsNotifier(self.client("sns"), arn)
        return self._topics[logical]

    def secret(self, logical: str) -> str:
        """A catalog secret's value, read on every call (a caller keeps it for its container's life);
        ``PermanentError`` when it is missing, unreadable, empty or not text."""
        name = self.catalog.secret(logical)
        value = read_secret(self.client("secretsmanager"), name)
        try:
            return value.decode()
        except UnicodeDecodeError as exc:
            raise PermanentError(f"secret {name!r} is not UTF-8 text") from exc
