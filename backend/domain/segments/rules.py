"""A segment's rules: what a marketer may write, checked before anything stores or uses it.

Rules are stored as JSON so marketers can add criteria without migrations, which
also means anything can end up in that column. Every rule set therefore goes
through `SegmentRules` before it is stored or used: a typo or a naive time must
be a clear `InvalidSegmentRules`, never a SQL error or a silently empty (or
silently everyone) audience behind a broadcast.
"""

from __future__ import annotations

import unicodedata
from datetime import datetime
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    ValidationError,
    ValidationInfo,
    field_validator,
)
from pydantic_core import ErrorDetails

from backend.domain.clock import SUPPORTED_YEARS, in_supported_years
from backend.domain.customers import clean_tag
from backend.domain.errors import InvalidSegmentRules, ValidationFailed
from backend.domain.models import CustomerStatus

MAX_LIST_ITEMS = 50
MAX_SOURCE_LENGTH = 64


def _tag(raw: str) -> str:
    try:
        return clean_tag(raw)
    except ValidationFailed as error:
        raise ValueError(error.message) from None


def _source(raw: str) -> str:
    """A source as a deep link names it; a control character is in none, and PostgreSQL
    refuses NUL in any text (the rule would be a database error there, not a refusal)."""
    value = raw.strip()
    if not 1 <= len(value) <= MAX_SOURCE_LENGTH:
        raise ValueError(f"a source must be 1 to {MAX_SOURCE_LENGTH} characters")
    if any(unicodedata.category(character) == "Cc" for character in value):
        raise ValueError("a source must not contain control characters")
    return value


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("must include a time zone, e.g. 2025-03-01T00:00:00+10:00")
    if not in_supported_years(value):
        first, last = SUPPORTED_YEARS.start, SUPPORTED_YEARS.stop - 1
        raise ValueError(f"must be between the years {first} and {last}")
    return value


def _listing(values: tuple[Any, ...]) -> tuple[Any, ...]:
    unique = tuple(dict.fromkeys(values))
    if not unique:
        raise ValueError("must list at least one value; leave the rule out to not filter on it")
    if len(unique) > MAX_LIST_ITEMS:
        raise ValueError(f"must list at most {MAX_LIST_ITEMS} values")
    return unique


TagList = Annotated[tuple[Annotated[str, AfterValidator(_tag)], ...], AfterValidator(_listing)]
SourceList = Annotated[
    tuple[Annotated[str, AfterValidator(_source)], ...], AfterValidator(_listing)
]
StatusList = Annotated[tuple[CustomerStatus, ...], AfterValidator(_listing)]
AwareDateTime = Annotated[datetime, AfterValidator(_aware)]


class SegmentRules(BaseModel):
    """Who is in a segment; every rule is optional and all given rules must hold.

    Field order matters: a cross-field check sits on the later field of a pair,
    so the error names the field the marketer most likely got wrong.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    tags_any: TagList | None = None
    tags_all: TagList | None = None
    tags_none: TagList | None = None
    status: StatusList | None = None
    subscribed_from: AwareDateTime | None = None
    subscribed_to: AwareDateTime | None = None
    birthday_month: Annotated[StrictInt, Field(ge=1, le=12)] | None = None
    has_active_discount: StrictBool | None = None
    redeemed_count_at_least: Annotated[StrictInt, Field(ge=0, le=1_000_000)] | None = None
    last_seen_after: AwareDateTime | None = None
    last_seen_before: AwareDateTime | None = None
    source: SourceList | None = None

    @field_validator("tags_none")
    @classmethod
    def _not_required_and_excluded(
        cls, value: tuple[str, ...] | None, info: ValidationInfo
    ) -> tuple[str, ...] | None:
        required = [*(info.data.get("tags_any") or ()), *(info.data.get("tags_all") or ())]
        clash = sorted(set(required).intersection(value or ()))
        if clash:
            raise ValueError(f"tags both required and excluded: {', '.join(clash)}")
        return value

    @field_validator("subscribed_to")
    @classmethod
    def _subscribed_range(cls, value: datetime | None, info: ValidationInfo) -> datetime | None:
        _check_range(info.data.get("subscribed_from"), value, "subscribed_from")
        return value

    @field_validator("last_seen_before")
    @classmethod
    def _last_seen_range(cls, value: datetime | None, info: ValidationInfo) -> datetime | None:
        _check_range(info.data.get("last_seen_after"), value, "last_seen_after")
        return value


def _check_range(start: datetime | None, end: datetime | None, start_name: str) -> None:
    if start is not None and end is not None and start >= end:
        raise ValueError(f"must be later than {start_name}, or nobody can match")


def parse_rules(data: object) -> SegmentRules:
    """Validated rules from JSON-like data; one clear `InvalidSegmentRules` otherwise."""
    try:
        return SegmentRules.model_validate(data)
    except ValidationError as error:
        first = error.errors(include_url=False)[0]
        field, message = _explain(first)
        raise InvalidSegmentRules(message, field=field) from None


def _explain(error: ErrorDetails) -> tuple[str | None, str]:
    field = str(error["loc"][0]) if error["loc"] else None
    if error["type"] == "extra_forbidden":
        return field, f"unknown rule {field!r}"
    if field is None:
        return None, "rules must be a JSON object"
    if error["type"] == "value_error":
        reason = str((error.get("ctx") or {})["error"])
    elif error["type"] == "tuple_type":
        reason = "Input should be a list"
    else:
        reason = error["msg"]
    return field, f"{field}: {reason}"
