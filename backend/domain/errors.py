"""Typed domain errors, each with one stable code from `ErrorCode`.

Transports map `code` to what their users see: GraphQL puts it into
`extensions.code`, the bots pick a Russian template by it, the CLI prints the
message on one line.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any


class ErrorCode(StrEnum):
    NOT_FOUND = "NOT_FOUND"
    VALIDATION = "VALIDATION"
    CONFLICT = "CONFLICT"
    CODE_NOT_FOUND = "CODE_NOT_FOUND"
    CODE_ALREADY_REDEEMED = "CODE_ALREADY_REDEEMED"
    CODE_EXPIRED = "CODE_EXPIRED"
    CODE_CANCELLED = "CODE_CANCELLED"
    DISCOUNT_NOT_ACTIVE = "DISCOUNT_NOT_ACTIVE"
    ALREADY_ISSUED = "ALREADY_ISSUED"
    CUSTOMER_NOT_ACTIVE = "CUSTOMER_NOT_ACTIVE"
    INVALID_SEGMENT_RULES = "INVALID_SEGMENT_RULES"
    INVALID_SETTING = "INVALID_SETTING"
    INVALID_TEMPLATE = "INVALID_TEMPLATE"
    INVALID_CREDENTIALS = "INVALID_CREDENTIALS"
    TOKEN_INVALID = "TOKEN_INVALID"  # noqa: S105 - an error code, not a secret
    INVITE_INVALID = "INVITE_INVALID"
    CASHIER_INACTIVE = "CASHIER_INACTIVE"
    INVALID_STATE = "INVALID_STATE"
    THROTTLED = "THROTTLED"
    UNAUTHENTICATED = "UNAUTHENTICATED"
    FORBIDDEN = "FORBIDDEN"
    BAD_CURSOR = "BAD_CURSOR"
    QUERY_TOO_COMPLEX = "QUERY_TOO_COMPLEX"
    QUERY_TOO_COSTLY = "QUERY_TOO_COSTLY"
    PAYLOAD_TOO_LARGE = "PAYLOAD_TOO_LARGE"
    INVALID_MARKUP = "INVALID_MARKUP"
    INVALID_QUERY = "INVALID_QUERY"
    PERSISTED_DOCUMENT_NOT_FOUND = "PERSISTED_DOCUMENT_NOT_FOUND"
    PERSISTED_DOCUMENT_REQUIRED = "PERSISTED_DOCUMENT_REQUIRED"
    INVALID_BIRTHDAY = "INVALID_BIRTHDAY"
    BIRTHDAY_ALREADY_SET = "BIRTHDAY_ALREADY_SET"
    NOT_RETRYABLE = "NOT_RETRYABLE"
    # The database, Redis or the task queue could not be reached: retry in a
    # moment (`backend.outages`); only transports send it, the domain never raises it.
    UNAVAILABLE = "UNAVAILABLE"
    INTERNAL = "INTERNAL"


class DomainError(Exception):
    """Base of every error a service raises on purpose."""

    code: ErrorCode = ErrorCode.VALIDATION

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class NotFound(DomainError):
    code = ErrorCode.NOT_FOUND


class ValidationFailed(DomainError):
    code = ErrorCode.VALIDATION


class Conflict(DomainError):
    code = ErrorCode.CONFLICT


class CodeNotFound(DomainError):
    code = ErrorCode.CODE_NOT_FOUND


class CodeAlreadyRedeemed(DomainError):
    code = ErrorCode.CODE_ALREADY_REDEEMED


class CodeExpired(DomainError):
    code = ErrorCode.CODE_EXPIRED


class CodeCancelled(DomainError):
    code = ErrorCode.CODE_CANCELLED


class DiscountNotActive(DomainError):
    code = ErrorCode.DISCOUNT_NOT_ACTIVE


class AlreadyIssued(DomainError):
    code = ErrorCode.ALREADY_ISSUED


class CustomerNotActive(DomainError):
    code = ErrorCode.CUSTOMER_NOT_ACTIVE


class InvalidSegmentRules(DomainError):
    code = ErrorCode.INVALID_SEGMENT_RULES


class InvalidSetting(DomainError):
    code = ErrorCode.INVALID_SETTING


class InvalidTemplate(DomainError):
    code = ErrorCode.INVALID_TEMPLATE


class InvalidMarkup(DomainError):
    """Text that Telegram would refuse for its parse mode; details say where."""

    code = ErrorCode.INVALID_MARKUP


class InvalidCredentials(DomainError):
    code = ErrorCode.INVALID_CREDENTIALS


class TokenInvalid(DomainError):
    code = ErrorCode.TOKEN_INVALID


class InviteInvalid(DomainError):
    code = ErrorCode.INVITE_INVALID


class CashierInactive(DomainError):
    code = ErrorCode.CASHIER_INACTIVE


class InvalidState(DomainError):
    """The object is not in a state that allows this action (e.g. pausing a draft)."""

    code = ErrorCode.INVALID_STATE


class Throttled(DomainError):
    code = ErrorCode.THROTTLED


class Unauthenticated(DomainError):
    code = ErrorCode.UNAUTHENTICATED


class Forbidden(DomainError):
    code = ErrorCode.FORBIDDEN


class BadCursor(DomainError):
    code = ErrorCode.BAD_CURSOR


class InvalidBirthday(DomainError):
    """`reason` is one of bad_format, not_a_date, in_future, too_old."""

    code = ErrorCode.INVALID_BIRTHDAY


class BirthdayAlreadySet(DomainError):
    code = ErrorCode.BIRTHDAY_ALREADY_SET


class NotRetryable(DomainError):
    """A task run an owner may not run again: its task is not safe to repeat."""

    code = ErrorCode.NOT_RETRYABLE
