"""One error tree. Services raise these; handlers and the API map them in one place each."""

from __future__ import annotations


class AppError(Exception):
    """Root of every error the platform raises on purpose."""


class PermanentError(AppError):
    """Bad input that retrying cannot fix: record it and acknowledge the message."""


class TransientError(AppError):
    """A temporary failure: re-raise so the message is retried (and ends in the DLQ)."""


class ApiError(AppError):
    """An error the HTTP API answers with its own status and a stable code."""

    status: int = 400
    code: str = "bad_request"

    def __init__(self, message: str, *, code: str | None = None, status: int | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status
        self.headers = headers or {}


class BadRequest(ApiError):
    """The request is malformed."""

    status, code = 400, "bad_request"


class ValidationFailed(ApiError):
    """The request is well-formed but its values are not acceptable."""

    status, code = 422, "validation_failed"


class Unauthorized(ApiError):
    """No credential, or one that does not verify."""

    status, code = 401, "unauthorized"


class Forbidden(ApiError):
    """The caller is known but may not do this (kind, address)."""

    status, code = 403, "forbidden"


class NotFound(ApiError):
    """No such object, or one owned by somebody else."""

    status, code = 404, "not_found"


class Conflict(ApiError):
    """The object's state does not allow the action."""

    status, code = 409, "conflict"


class PayloadTooLarge(ApiError):
    """The body exceeds the configured limit."""

    status, code = 413, "payload_too_large"


class TooManyRequests(ApiError):
    """The caller exceeded its rate limit."""

    status, code = 429, "rate_limited"


class StoreError(TransientError):
    """A storage backend failed in a way worth retrying."""


class ConditionFailed(AppError):
    """A conditional write found the record already there (or in another state)."""


class ObjectMissing(AppError):
    """The object store has no object under that key."""


class RecipientOptedOut(PermanentError):
    """The phone number opted out of our text messages: never retry."""


class UnsupportedMediaType(ApiError):
    """The body's media type is not one the route accepts."""

    status, code = 415, "unsupported_media_type"
