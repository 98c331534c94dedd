"""Generated abusive documents stop exactly at the depth, alias and token limits.

The limits themselves are shown in test_graphql_limits; here hypothesis hides
depth in fragments, aliases wherever they may go and tokens in long lists and
comments, and the answer must change exactly at each limit.
"""

from __future__ import annotations

from graphql import Lexer, Source, TokenKind, parse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backend.domain.models import AdminRole
from backend.graphql.query_cost import DEFAULT_LIMIT, operation_cost
from backend.graphql.schema import MAX_ALIASES, MAX_DEPTH, MAX_TOKENS, schema
from tests.api import GraphQLClient, graphql_core

SHAPE = graphql_core(schema)  # the schema's types, fields and arguments


LIMITED = settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
# A path through the schema that can go on forever: Customer.discounts -> Discount.customer.
STARTS = {
    "customers": (["customers(first: 1)", "edges", "node"], "Customer"),
    "discounts": (["discounts(first: 1)", "edges", "node"], "Discount"),
    "segments": (["segments", "preview(first: 1)"], "Customer"),
}
NEXT = {"Customer": ("discounts", "Discount"), "Discount": ("customer", "Customer")}


@st.composite
def deep_documents(draw: st.DrawFn) -> tuple[str, int]:
    """A document nested `levels` fields deep; parts of it moved into fragments."""
    fields, type_name = STARTS[draw(st.sampled_from(sorted(STARTS)))]
    chain = [(field, None) for field in fields[:-1]] + [(fields[-1], type_name)]
    for _ in range(draw(st.integers(0, 12))):
        field, type_name = NEXT[type_name]
        chain.append((field, type_name))
    body, fragments = "id", []
    for index in reversed(range(len(chain))):
        field, child_type = chain[index]
        how = (
            draw(st.sampled_from(["plain", "plain", "inline", "named"])) if child_type else "plain"
        )
        if how == "inline":
            body = f"... on {child_type} {{ {body} }}"
        elif how == "named":
            fragments.append(f"fragment F{index} on {child_type} {{ {body} }}")
            body = f"...F{index}"
        body = f"{field} {{ {body} }}"
        if draw(st.booleans()):
            body = f"{body} __typename"  # breadth does not count
    # The leaf `id` sits below every field of the chain; the root field is level 0.
    return " ".join([f"query Deep {{ {body} }}", *fragments]), len(chain)


@LIMITED
@given(document=deep_documents())
async def test_generated_deep_documents_stop_exactly_at_the_depth_limit(
    staff: dict[AdminRole, GraphQLClient], document: tuple[str, int]
) -> None:
    query, leaf_level = document
    response = await staff[AdminRole.OWNER](query)
    cost = operation_cost(SHAPE, parse(query))
    assert cost is not None
    if leaf_level > MAX_DEPTH:
        assert response.error_codes and set(response.error_codes) == {"QUERY_TOO_COMPLEX"}, query
        assert response.body.get("data") is None
    elif cost.units > DEFAULT_LIMIT:  # within the depth, but lists of lists (issue 12, item 9)
        assert set(response.error_codes) == {"QUERY_TOO_COSTLY"}, (query, response.body)
        assert response.body.get("data") is None
    else:
        assert response.error_codes == [] and response.body["data"], (query, response.body)


@LIMITED
@given(
    counts=st.tuples(st.integers(0, 25), st.integers(0, 25), st.integers(0, 25)),
    spreads=st.integers(1, 2),
)
async def test_generated_aliases_are_counted_wherever_they_hide(
    staff: dict[AdminRole, GraphQLClient], counts: tuple[int, int, int], spreads: int
) -> None:
    at_root, nested, in_fragment = counts
    root = " ".join(f"r{n}: me {{ email }}" for n in range(at_root))
    inner = " ".join(f"n{n}: firstName" for n in range(nested))
    fragment = " ".join(f"f{n}: id" for n in range(in_fragment)) or "id"
    uses = " ".join(["...C"] * spreads)
    query = (
        f"query Aliased {{ {root} customers(first: 1) {{ edges {{ node {{"
        f" id {inner} {uses} }} }} }} }} fragment C on Customer {{ {fragment} }}"
    )
    total = at_root + nested + in_fragment * spreads
    response = await staff[AdminRole.OWNER](query)
    if total > MAX_ALIASES:
        assert set(response.error_codes) == {"QUERY_TOO_COMPLEX"}, (total, response.body)
    else:
        assert response.error_codes == [], (total, response.body)


def token_count(document: str) -> int:
    """Lexical tokens, as the parser counts them against the limit (no comments here)."""
    lexer, count = Lexer(Source(document)), 0
    while lexer.advance().kind is not TokenKind.EOF:
        count += 1
    return count


LISTS = [
    ("customers(first: 1, filter: {{status: [{items}]}}) {{ totalCount }}", "ACTIVE"),
    ("discounts(first: 1, filter: {{kinds: [{items}]}}) {{ totalCount }}", "MANUAL"),
]


@LIMITED
@given(offset=st.integers(-6, 6), share=st.floats(0, 1))
async def test_generated_large_documents_stop_exactly_at_the_token_limit(
    staff: dict[AdminRole, GraphQLClient], offset: int, share: float
) -> None:
    """Long list arguments: many tokens, yet no field repeated (graphql-core has its own
    budget for those) and nothing the resolvers refuse."""
    fixed = token_count("{ " + " ".join(field.format(items="") for field, _ in LISTS) + " }")
    items = MAX_TOKENS - fixed + offset
    first = 1 + int((items - 2) * share)  # each list has at least one item
    fields = [
        field.format(items=" ".join([item] * count))
        for (field, item), count in zip(LISTS, (first, items - first), strict=True)
    ]
    query = "{ " + " ".join(fields) + " }"
    assert token_count(query) == MAX_TOKENS + offset
    response = await staff[AdminRole.OWNER](query)
    if offset > 0:
        assert set(response.error_codes) == {"QUERY_TOO_COMPLEX"}, offset
    else:
        assert response.error_codes == [] and response.body["data"], (offset, response.body)


async def test_a_flood_of_comments_counts_against_the_token_limit(
    staff: dict[AdminRole, GraphQLClient],
) -> None:
    response = await staff[AdminRole.OWNER]("#\n" * (MAX_TOKENS + 1) + "{ __typename }")
    assert set(response.error_codes) == {"QUERY_TOO_COMPLEX"}
