"""Properties of the rules customers and cashiers meet every day, over generated input.

Codes, template placeholders, birthdays, segment rules and page cursors are
all fed text or JSON from outside (a till, a marketer, a customer's chat, a
browser); each property says what holds for every input, not for a few picked
ones: a typed error or a right answer, never a crash.
"""

from __future__ import annotations

import base64
import json
import string
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.domain import codes, customer_search, pagination, segments, templates
from backend.domain.birthdays import MAX_AGE_YEARS, parse_birthday
from backend.domain.clock import SUPPORTED_YEARS
from backend.domain.errors import BadCursor, InvalidBirthday, InvalidSegmentRules, InvalidTemplate
from backend.domain.models import CustomerStatus
from backend.graphql import discounts as discount_api
from backend.graphql.pagination import decode_cursor, encode_cursor
from tests.factories import make_customer

# --- Codes ---------------------------------------------------------------------------------

valid_codes = st.text(
    alphabet=codes.ALPHABET, min_size=codes.CODE_LENGTH, max_size=codes.CODE_LENGTH
)
CYRILLIC_TWINS = {"A": "Аа", "B": "Вв", "E": "Ее", "K": "Кк", "M": "Мм", "H": "Нн", "P": "Рр"}
CYRILLIC_TWINS |= {"C": "Сс", "T": "Тт", "Y": "Уу", "X": "Хх"}


def test_the_alphabet_has_no_look_alikes() -> None:
    assert len(set(codes.ALPHABET)) == len(codes.ALPHABET) == 31
    assert not set(codes.ALPHABET) & set("0O1IL")
    assert set(codes.ALPHABET) <= set(string.ascii_uppercase + string.digits)


@given(st.data())
def test_every_generated_code_is_typeable_and_normal(data: st.DataObject) -> None:
    # `choose` is the hook demo data uses; hypothesis picks each character instead of secrets.
    code = codes.generate_code(lambda alphabet: data.draw(st.sampled_from(alphabet)))
    assert len(code) == codes.CODE_LENGTH
    assert set(code) <= set(codes.ALPHABET)
    assert codes.normalize_code(code) == code


def test_the_real_generator_draws_valid_codes() -> None:
    drawn = [codes.generate_code() for _ in range(500)]
    assert all(codes.normalize_code(code) == code for code in drawn)


@st.composite
def typed_by_a_cashier(draw: st.DrawFn) -> tuple[str, str]:
    """A code and how a cashier may type it: any case, separators, Cyrillic twins."""
    code = draw(valid_codes)
    typed = ""
    for char in code:
        typed += draw(st.sampled_from(["", " ", "-", "\t", "  "]))
        options = [char, char.lower(), *CYRILLIC_TWINS.get(char, "")]
        typed += draw(st.sampled_from(options))
    return code, typed + draw(st.sampled_from(["", " ", "\t", "-"]))


@given(typed_by_a_cashier())
def test_what_a_cashier_types_finds_the_code(typed: tuple[str, str]) -> None:
    code, text = typed
    assert codes.normalize_code(text) == code


@given(st.text(max_size=20))
def test_normalising_is_idempotent_and_gives_a_valid_code_or_none(text: str) -> None:
    normal = codes.normalize_code(text)
    if normal is not None:
        assert len(normal) == codes.CODE_LENGTH and set(normal) <= set(codes.ALPHABET)
        assert codes.normalize_code(normal) == normal


@given(valid_codes, st.integers(0, codes.CODE_LENGTH - 1), st.sampled_from("0O1IL!Ё#"))
def test_a_character_outside_the_alphabet_is_never_a_code(
    code: str, position: int, stranger: str
) -> None:
    assert codes.normalize_code(code[:position] + stranger + code[position + 1 :]) is None
    assert codes.normalize_code(code[:-1]) is None
    assert codes.normalize_code(code + "A") is None


# --- Template placeholders -----------------------------------------------------------------

names = st.sampled_from(["first_name", "code", "percent", "expires_on", "x"]) | st.text(max_size=4)
specs = st.sampled_from(["", ":", ":d", ":>10", ":>999999999", ":{code}", ":.2f", "!r", "!s:^5"])
pieces = st.one_of(
    st.text(alphabet="Привет, abc!.", max_size=6),
    st.tuples(names, specs).map(lambda part: "{" + part[0] + part[1] + "}"),
    st.sampled_from(["{", "}", "{{", "}}", "{}", "{0}", "{a.b}", "{a[0]}"]),
)
# Texts built from placeholders (with and without formats) and stray braces, plus any text.
template_texts = st.lists(pieces, max_size=6).map("".join) | st.text(max_size=30)
anything = st.one_of(
    st.none(),
    st.integers(),
    st.floats(),
    st.text(max_size=10),
    st.dates(),
    st.decimals(),
    st.lists(st.integers(), max_size=2),
)
contexts = st.dictionaries(
    st.one_of(
        st.sampled_from(["first_name", "code", "percent", "expires_on"]), st.text(max_size=5)
    ),
    anything,
    max_size=5,
)


@given(template_texts, contexts)
def test_a_text_that_passes_validation_renders_with_any_values(
    text: str, values: dict[str, Any]
) -> None:
    try:
        used = templates.placeholders_in(text)
    except InvalidTemplate:
        return
    rendered = templates.fill(text, values)
    for name in used:
        expected = str(values[name]) if name in values else "{" + name + "}"
        assert expected in rendered


@given(st.sampled_from(sorted(templates.defaults())), template_texts)
def test_known_templates_accept_exactly_their_placeholders(key: str, text: str) -> None:
    allowed = templates.defaults()[key].placeholders
    try:
        used: set[str] | None = templates.placeholders_in(text)
    except InvalidTemplate:
        used = None
    valid = used is not None and used <= allowed and bool(text.strip())
    try:
        templates.validate_text(key, text)
    except InvalidTemplate:
        assert not valid
    else:
        assert valid


@pytest.mark.parametrize(
    "text", ["{first_name:>999999999}", "{percent:d}", "{code!r}", "{first_name:{code}}"]
)
def test_formats_and_conversions_are_refused_up_front(text: str) -> None:
    with pytest.raises(InvalidTemplate, match="bare name"):
        templates.validate_text("welcome", text)


@pytest.mark.parametrize("key", sorted(templates.defaults()))
def test_every_shipped_template_is_valid_and_fills_completely(key: str) -> None:
    default = templates.defaults()[key]
    templates.validate_text(key, default.text)
    filled = templates.fill(default.text, {name: "«x»" for name in default.placeholders})
    assert templates.placeholders_in(filled.replace("{", "{{").replace("}", "}}")) == set()
    assert all("{" + name + "}" not in filled for name in default.placeholders)


def test_unknown_placeholders_stay_visible_and_braces_escape() -> None:
    assert templates.fill("Привет, {first_name}! {{код}} {code}", {"first_name": "Аня"}) == (
        "Привет, Аня! {код} {code}"
    )


# --- Birthdays -----------------------------------------------------------------------------

TODAY = date(2026, 11, 25)
# 120 years old is fine, 121 is "over 120": the oldest birthday is the day after 121 years ago.
OLDEST = date(TODAY.year - MAX_AGE_YEARS - 1, TODAY.month, TODAY.day) + timedelta(days=1)
days_lived = st.dates(min_value=OLDEST, max_value=TODAY)


@st.composite
def spelled_dates(draw: st.DrawFn, days: st.SearchStrategy[date]) -> tuple[date, str]:
    day = draw(days)
    separator = draw(st.sampled_from([".", "-", "/", " "]))
    padded = draw(st.booleans())
    dd, mm = (f"{day.day:02d}", f"{day.month:02d}") if padded else (str(day.day), str(day.month))
    space = draw(st.sampled_from(["", " ", "\t", "\n"]))
    return day, f"{space}{dd}{separator}{mm}{separator}{day.year:04d}{space}"


@given(spelled_dates(days_lived))
def test_every_date_lived_parses_back_in_any_accepted_spelling(spelled: tuple[date, str]) -> None:
    day, text = spelled
    assert parse_birthday(text, today=TODAY) == day


@given(spelled_dates(st.dates(min_value=TODAY + timedelta(days=1), max_value=date(9999, 1, 1))))
def test_a_future_date_is_refused_as_such(spelled: tuple[date, str]) -> None:
    with pytest.raises(InvalidBirthday) as refusal:
        parse_birthday(spelled[1], today=TODAY)
    assert refusal.value.details["reason"] == "in_future"


@given(spelled_dates(st.dates(min_value=date(1000, 1, 1), max_value=OLDEST - timedelta(days=1))))
def test_over_120_years_is_refused_as_too_old(spelled: tuple[date, str]) -> None:
    with pytest.raises(InvalidBirthday) as refusal:
        parse_birthday(spelled[1], today=TODAY)
    assert refusal.value.details["reason"] == "too_old"


@given(st.integers(1, 99), st.integers(1, 99), st.integers(0, 9999))
def test_numbers_that_are_no_date_are_refused_as_such(day: int, month: int, year: int) -> None:
    try:
        date(year, month, day)
    except ValueError:
        with pytest.raises(InvalidBirthday) as refusal:
            parse_birthday(f"{day:02d}.{month:02d}.{year:04d}", today=TODAY)
        assert refusal.value.details["reason"] == "not_a_date"
    else:
        assume(False)


@given(st.text(max_size=80))
def test_any_text_is_a_birthday_or_a_typed_refusal(text: str) -> None:
    try:
        born = parse_birthday(text, today=TODAY)
    except InvalidBirthday as refusal:
        assert refusal.details["reason"] in {"bad_format", "not_a_date", "in_future", "too_old"}
        return
    assert OLDEST <= born <= TODAY


# --- Segment rules -------------------------------------------------------------------------

RULE_NAMES = sorted(segments.SegmentRules.model_fields)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=8,
)


def _iso_offset(moment: datetime) -> datetime:
    """ISO 8601 offsets are whole minutes; before ~1920 many zones kept local mean time
    (Europe/Dublin: -00:25:21), which `isoformat` writes with seconds and no client sends."""
    offset = moment.utcoffset()
    return moment.astimezone(UTC) if offset is not None and offset.seconds % 60 else moment


supported_moments = st.datetimes(
    min_value=datetime(SUPPORTED_YEARS.start, 1, 2),
    max_value=datetime(SUPPORTED_YEARS.stop - 1, 12, 30),
    timezones=st.timezones() | st.just(UTC),
).map(_iso_offset)
tag_names = st.text(
    alphabet=st.characters(blacklist_categories=["Cs", "Cc", "Zs", "Zl", "Zp"]),
    min_size=1,
    max_size=20,
)


@st.composite
def valid_rules(draw: st.DrawFn) -> dict[str, Any]:
    """Rules from the whole valid space: any zone, the edge years, unusual tags."""
    rules: dict[str, Any] = {}
    optional = {
        "tags_any": st.lists(tag_names, min_size=1, max_size=5),
        "status": st.lists(st.sampled_from([s.value for s in CustomerStatus]), min_size=1),
        "birthday_month": st.integers(1, 12),
        "has_active_discount": st.booleans(),
        "redeemed_count_at_least": st.integers(0, 1_000_000),
        "source": st.lists(st.text(min_size=1, max_size=30).filter(str.strip), min_size=1),
    }
    for name, values in optional.items():
        if draw(st.booleans()):
            rules[name] = draw(values)
    for start, end in (
        ("subscribed_from", "subscribed_to"),
        ("last_seen_after", "last_seen_before"),
    ):
        bounds = sorted(draw(st.lists(supported_moments, min_size=2, max_size=2)))
        sides = draw(st.sampled_from([(), (start,), (end,), (start, end)]))
        if (start, end) == sides and bounds[0] >= bounds[1]:
            continue
        for side in sides:
            rules[side] = (bounds[0] if side == start else bounds[1]).isoformat()
    return rules


@given(st.one_of(json_values, st.dictionaries(st.sampled_from(RULE_NAMES), json_values)))
def test_any_json_is_rules_or_one_typed_refusal(data: object) -> None:
    try:
        rules = segments.parse_rules(data)
    except InvalidSegmentRules as refusal:
        assert refusal.details["field"] is None or isinstance(refusal.details["field"], str)
        assert refusal.message
        return
    stored = rules.model_dump(mode="json", exclude_none=True)
    assert segments.parse_rules(json.loads(json.dumps(stored))) == rules


@given(valid_rules())
def test_valid_rules_round_trip_through_storage(raw: dict[str, Any]) -> None:
    try:
        rules = segments.parse_rules(raw)
    except InvalidSegmentRules as refusal:
        # Generated tags are only refused for what clean_tag refuses (length after cleaning),
        # sources for a control character (PostgreSQL stores no NUL).
        assert refusal.details["field"] in ("tags_any", "source"), refusal.message
        return
    stored = rules.model_dump(mode="json", exclude_none=True)
    again = segments.parse_rules(json.loads(json.dumps(stored)))
    assert again == rules
    assert again.model_dump(mode="json", exclude_none=True) == stored


# The SQL of any valid rules runs on both databases; the pure-Python twin is checked
# against it in test_segments.py, this is about the edges never being a SQL error.
@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(rule_lists=st.lists(valid_rules(), min_size=1, max_size=8))
async def test_any_valid_rules_run_as_sql(
    sessions: async_sessionmaker[AsyncSession], rule_lists: list[dict[str, Any]]
) -> None:
    now = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)
    async with sessions() as session:
        try:
            await make_customer(session, tags=["vip"], source="instagram")
            for raw in rule_lists:
                try:
                    rules = segments.parse_rules(raw)
                except InvalidSegmentRules:
                    continue
                count = await segments.count_members(session, rules, now=now)
                page = await segments.page_members(session, rules, now=now, limit=5)
                assert count == len(page) <= 1
                assert [customer.id for customer in page] == list(
                    await session.scalars(segments.members_query(rules, now=now))
                )
        finally:
            await session.rollback()


# --- Page cursors --------------------------------------------------------------------------

ORDERINGS = [
    discount_api.ORDERING,
    *(
        customer_search.ordering(name, direction)
        for name in ("id", "created_at", "last_seen_at")
        for direction in pagination.Direction
    ),
]
cursor_payloads = st.one_of(
    st.text(max_size=40),
    st.lists(json_values, max_size=4).map(
        lambda items: base64.urlsafe_b64encode(json.dumps(items).encode()).decode()
    ),
    st.tuples(
        st.sampled_from([ordering.tag for ordering in ORDERINGS]),
        st.one_of(
            json_values,
            st.datetimes(timezones=st.timezones()).map(datetime.isoformat),
            st.sampled_from(["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-12:00"]),
        ),
        st.one_of(st.integers(), st.sampled_from([2**63, -(2**63) - 1, 10**30]), json_values),
    ).map(lambda triple: base64.urlsafe_b64encode(json.dumps(list(triple)).encode()).decode()),
)


@given(st.sampled_from(ORDERINGS), cursor_payloads)
def test_any_cursor_is_a_storable_key_or_bad_cursor(ordering: Any, cursor: str) -> None:
    try:
        key = decode_cursor(cursor, ordering)
    except BadCursor:
        return
    assert key is not None
    value, row_id = key
    assert isinstance(row_id, int) and -(2**63) <= row_id < 2**63
    if isinstance(value, datetime):
        assert value.utcoffset() is not None and value.year in SUPPORTED_YEARS
        value.astimezone(UTC)  # what the database layer does with it: must not overflow
    else:
        assert isinstance(value, str) or (value is not None and -(2**63) <= value < 2**63)


@given(
    st.sampled_from(ORDERINGS),
    supported_moments.map(lambda moment: moment.replace(tzinfo=UTC)),
    st.integers(1, 2**63 - 1),
)
def test_a_cursor_we_issue_decodes_to_its_key(ordering: Any, moment: datetime, row_id: int) -> None:
    value = row_id if ordering.column is ordering.id_column else moment
    assert decode_cursor(encode_cursor((value, row_id), ordering), ordering) == (value, row_id)
