"""Errors that services raise; every entry point turns them into the same error body.

The API answers ``{"errors": [{"field": ..., "code": ..., "message": ...}]}``; the console shows
the messages beside the fields; the importer writes them into the row report.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.db.models import Model, ProtectedError


class CoreErrorCode(StrEnum):
    """The codes the kernel answers with for every domain: access, the rate limit, lookups, request shape."""

    UNAUTHENTICATED = "unauthenticated"
    MISSING_SCOPE = "missing_scope"
    FORBIDDEN = "forbidden"
    THROTTLED = "throttled"
    NOT_FOUND = "not_found"
    IN_USE = "in_use"
    INVALID = "invalid"
    NULL = "null"
    OUT_OF_RANGE = "out_of_range"
    TOO_MANY = "too_many"
    ERROR = "error"
    FINISHED = "finished"
    NOT_RETRYABLE = "not_retryable"


@dataclass(frozen=True)
class FieldError:
    field: str
    code: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "code": self.code, "message": self.message}


class DomainError(Exception):
    """A business rule said no. ``status`` is the HTTP status the API answers with."""

    status = 400

    def __init__(self, errors: FieldError | Iterable[FieldError]):
        self.errors = [errors] if isinstance(errors, FieldError) else list(errors)
        super().__init__("; ".join(f"{e.field}: {e.message}" for e in self.errors))

    @classmethod
    def single(cls, field: str, code: str, message: str) -> DomainError:
        return cls(FieldError(field, code, str(message)))


class InvalidInput(DomainError):
    status = 422

    @classmethod
    def from_django(cls, exc: DjangoValidationError, *, prefix: str = "") -> InvalidInput:
        errors: list[FieldError] = []
        if hasattr(exc, "error_dict"):
            for field, field_errors in exc.error_dict.items():
                for err in field_errors:
                    errors.append(_field_error(f"{prefix}{field}", err))
        else:
            for err in exc.error_list:
                errors.append(_field_error(prefix.rstrip(".") or "__all__", err))
        return cls(errors)


class NotFound(DomainError):
    status = 404


class Conflict(DomainError):
    status = 409


class PermissionDeniedError(DomainError):
    status = 403


def _field_error(field: str, err: DjangoValidationError) -> FieldError:
    message = err.message % err.params if err.params else err.message
    return FieldError(field, err.code or "invalid", str(message))


def kept_by_conflict(exc: ProtectedError, subject: str) -> Conflict:
    """The 409 for a delete that other records protect, naming their kinds (plans, tickets ...)."""
    kinds = sorted({str(obj._meta.verbose_name_plural) for obj in exc.protected_objects})
    return Conflict(FieldError("id", "in_use", f"the {subject} is used by {', '.join(kinds)} and cannot be deleted"))


def delete_unless_kept(instance: Model, subject: str) -> None:
    """Delete ``instance``; when another domain's records protect it, a Conflict naming them (a
    savepoint keeps the caller's transaction usable)."""
    try:
        with transaction.atomic():
            instance.delete()
    except ProtectedError as exc:
        raise kept_by_conflict(exc, subject) from exc
