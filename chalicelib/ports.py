"""The small interfaces domain services depend on. boto3 lives only behind them (adapters/)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from chalicelib.models.principal import SignedInUser


@dataclass(frozen=True)
class ObjectInfo:
    key: str
    size: int
    etag: str
    content_type: str
    last_modified_ms: int


@dataclass(frozen=True)
class PresignedPost:
    url: str
    fields: dict[str, str]


class ObjectStore(Protocol):
    """One bucket."""

    name: str

    def put(self, key: str, data: bytes, *, content_type: str = "application/octet-stream",
            metadata: Mapping[str, str] | None = None) -> None: ...

    def get(self, key: str) -> bytes: ...

    def get_range(self, key: str, start: int, end: int) -> bytes:
        """Bytes ``start..end`` inclusive, as an HTTP Range does."""
        ...

    def head(self, key: str) -> ObjectInfo: ...

    def delete(self, key: str) -> None: ...

    def keys(self, prefix: str = "") -> Iterator[str]: ...

    def presigned_post(self, key: str, *, max_bytes: int, expires_s: int,
                       content_type: str | None = None) -> PresignedPost: ...

    def presigned_get(self, key: str, *, expires_s: int) -> str: ...


class MessageQueue(Protocol):
    """One queue."""

    url: str

    def send(self, body: str, *, delay_s: int = 0,
             attributes: Mapping[str, str] | None = None) -> str: ...


class Table(Protocol):
    """One key-value / document table (DynamoDB semantics, plain Python values)."""

    name: str

    def get(self, key: Mapping[str, Any]) -> dict[str, Any] | None: ...

    def get_many(self, keys: Sequence[Mapping[str, Any]]) -> list[dict[str, Any] | None]:
        """Each key's item (None when absent), in the keys' order: one round trip for many ``get``."""
        ...

    def put(self, item: Mapping[str, Any], *, if_absent: bool = False,
            expect: Mapping[str, Any] | None = None) -> None:
        """Write ``item``. ``if_absent`` refuses to overwrite; ``expect`` requires current
        attribute values. Either failing raises ``ConditionFailed``."""
        ...

    def put_many(self, items: Sequence[Mapping[str, Any]]) -> None: ...

    def update(self, key: Mapping[str, Any], changes: Mapping[str, Any], *, expect: Mapping[str, Any] | None = None,
               counter: str | None = None, unless_newer: tuple[str, int] | None = None,
               create: bool = False) -> dict[str, Any]:
        """Set ``changes`` on the item and keep its other attributes (concurrent writers of other attributes
        lose nothing); ``counter`` is incremented by one. Conditions (``ConditionFailed``): the item exists
        (unless ``create``), ``expect`` as for ``put`` (None: absent or null), ``unless_newer=(name, n)``:
        the stored ``name`` is absent or at most ``n``. Answers the item as written."""
        ...

    def delete(self, key: Mapping[str, Any]) -> None: ...

    def query(self, partition_key: str, value: Any, *, sort_between: tuple[Any, Any] | None = None,
              index: str | None = None, limit: int | None = None,
              descending: bool = False) -> list[dict[str, Any]]: ...

    def scan(self) -> Iterator[dict[str, Any]]: ...


class Notifier(Protocol):
    """One pub/sub topic (SNS)."""

    arn: str

    def publish(self, message: str, *, subject: str | None = None,
                attributes: Mapping[str, str] | None = None) -> str: ...


@dataclass(frozen=True)
class BatchJobStatus:
    job_id: str
    total: int
    succeeded: int
    failed: int

    @property
    def done(self) -> bool:
        return self.succeeded + self.failed >= self.total


class BatchExecutor(Protocol):
    """Runs an array job: ``entry_point(index, parameters)`` once per index in ``range(size)``.

    In the cloud an AWS Batch array job (the index is ``AWS_BATCH_JOB_ARRAY_INDEX``); locally a
    process pool. The same entry point runs in both.
    """

    def submit(self, job_name: str, entry_point: str, size: int, parameters: Mapping[str, str]) -> str: ...

    def status(self, job_id: str) -> BatchJobStatus: ...


class WebhookClient(Protocol):
    """HTTPS POST to an agency's receiving system."""

    def post(self, url: str, body: bytes, headers: Mapping[str, str], *, timeout_s: float,
             server_ca: str | None = None) -> int:
        """The HTTP status; ``TransientError`` when the agency cannot be reached at all. ``server_ca`` (PEM):
        the only CAs the server's certificate may chain to, for a receiver on a private PKI."""
        ...


class SmsSender(Protocol):
    """One text message to one phone (E.164)."""

    def send(self, phone: str, text: str, *, kind: str) -> str:
        """The provider's message id; ``RecipientOptedOut`` when the number opted out of our messages."""
        ...


class UrlSigner(Protocol):
    """Signs ``url`` (its own exact resource) to expire at ``expires_at`` (epoch seconds), optionally
    only from ``ip_cidr``: CloudFront's custom-policy signed URLs in the cloud."""

    def sign(self, url: str, *, expires_at: int, ip_cidr: str | None = None) -> str: ...


class SignInTokens(Protocol):
    """Verifies a person's sign-in token (the console's user pool ID token in the cloud)."""

    def verify(self, token: str) -> SignedInUser:
        """The signed-in user; ``Unauthorized`` for a token that is not valid now."""
        ...
