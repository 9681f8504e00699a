"""tagsmith's exceptions: one class per stable error code, all subclasses of TagsmithError."""

from __future__ import annotations

import builtins
from dataclasses import dataclass
from typing import List, Optional


@dataclass(frozen=True)
class FieldError:
    """One invalid field: its path (``ads.currency``), the offending value, and why."""

    field: str
    value: str
    reason: str


class TagsmithError(Exception):
    """Base of every tagsmith error. ``code`` is stable across Rust, Python, Node and WASM."""

    code: str = "internal"

    def __init__(
        self,
        message: str,
        *,
        fields: Optional[List[FieldError]] = None,
        http_status: int = 500,
        retryable: bool = False,
        retry_after_secs: Optional[int] = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.fields: List[FieldError] = list(fields or [])
        self.http_status = http_status
        self.retryable = retryable
        #: Seconds to wait before retrying, when known (``rate_limited``, ``unavailable``).
        self.retry_after_secs = retry_after_secs


class NotFoundError(TagsmithError, LookupError):
    """The record does not exist, was deleted, or belongs to another tenant."""

    code = "not_found"


class AlreadyExistsError(TagsmithError):
    """A record with the same unique key exists."""

    code = "already_exists"


class InvalidInputError(TagsmithError, ValueError):
    """A value failed validation; ``fields`` names each bad field and value."""

    code = "invalid_input"


class UnauthorizedError(TagsmithError):
    """The caller is not authenticated."""

    code = "unauthorized"


class ForbiddenError(TagsmithError):
    """The caller may not do this."""

    code = "forbidden"


class RateLimitedError(TagsmithError):
    """Too many requests; retry later."""

    code = "rate_limited"


class TimeoutError(TagsmithError, builtins.TimeoutError):  # noqa: A001 - mirrors the code
    """The operation took too long."""

    code = "timeout"


class ConflictError(TagsmithError):
    """The record changed since it was read (stale version): read it again and retry."""

    code = "conflict"


class UnavailableError(TagsmithError):
    """A dependency is unavailable, or the engine was closed."""

    code = "unavailable"


class StorageError(TagsmithError):
    """The storage backend failed: corrupt, locked or newer database file, I/O."""

    code = "storage"


class NetworkError(TagsmithError):
    """A network call failed."""

    code = "network"


class InternalError(TagsmithError):
    """A bug in tagsmith (including a caught panic)."""

    code = "internal"


BY_CODE = {
    cls.code: cls
    for cls in (
        NotFoundError,
        AlreadyExistsError,
        InvalidInputError,
        UnauthorizedError,
        ForbiddenError,
        RateLimitedError,
        TimeoutError,
        ConflictError,
        UnavailableError,
        StorageError,
        NetworkError,
        InternalError,
    )
}
