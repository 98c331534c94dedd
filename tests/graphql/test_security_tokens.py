"""Attacks with tokens on the admin API are refused.

What test_graphql_auth, test_internal_endpoints, test_graphql_limits and
test_bots already show (alg none, another key, expired and deactivated-at-issue
tokens, logout, a wrong or missing secret or key, eight parallel guesses) is
not repeated; this adds a payload edited under its old signature, other HMAC
algorithms, missing or absurd claims, a role claim that disagrees with the
database, an admin switched off or demoted while holding a token, one revoked
jti among several, a token outside a Bearer header, and queries over GET.
"""

from __future__ import annotations

import base64
import json

import jwt
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.domain.clock import utcnow
from backend.domain.models import AdminRole
from backend.graphql import tokens
from tests.api import JWT_SECRET, GraphQLClient
from tests.factories import make_admin

ME = "{ me { email role } }"


def signed(claims: dict[str, object], *, key: str = JWT_SECRET, algorithm: str = "HS256") -> str:
    return jwt.encode(claims, key, algorithm=algorithm)


def segment(value: dict[str, object]) -> str:
    """One JWT segment: unpadded base64url of JSON."""
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


async def an_admin(
    sessions: async_sessionmaker[AsyncSession], role: AdminRole
) -> tuple[int, str, dict[str, object]]:
    """A fresh admin: id, a valid token and its claims."""
    async with sessions() as session, session.begin():
        admin = await make_admin(session, role=role)
    token = tokens.issue(admin, secret=JWT_SECRET, now=utcnow()).token
    claims = jwt.decode(token, JWT_SECRET, algorithms=["HS256"], issuer="dvorik")
    return admin.id, token, claims


async def test_a_payload_edited_under_its_old_signature_is_refused(
    graphql: GraphQLClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    _, token, claims = await an_admin(sessions, AdminRole.READONLY)
    header, _, signature = token.split(".")
    for edit in ({"role": "owner"}, {"sub": "1"}, {"exp": int(claims["exp"]) + 10**6}):  # type: ignore[call-overload]
        forged = f"{header}.{segment({**claims, **edit})}.{signature}"
        assert (await graphql.as_(forged)(ME)).error_code == "UNAUTHENTICATED", edit
    assert (await graphql.as_(token)(ME)).data["me"]["role"] == "READONLY"


async def test_only_hs256_is_accepted(
    graphql: GraphQLClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    _, _, claims = await an_admin(sessions, AdminRole.OWNER)
    unsigned = {
        spelling: f"{segment({'alg': spelling, 'typ': 'JWT'})}.{segment(claims)}."
        for spelling in ("none", "None", "NONE", "nOnE")
    }
    other_hmacs = {
        name: signed(claims, algorithm=name, key=JWT_SECRET * 2) for name in ("HS384", "HS512")
    }
    # HS256 in the header, but the signature of another algorithm's output.
    mislabelled = signed(claims, algorithm="HS512", key=JWT_SECRET * 2).split(".")
    mislabelled[0] = segment({"alg": "HS256", "typ": "JWT"})
    for name, token in {**unsigned, **other_hmacs, "mislabelled": ".".join(mislabelled)}.items():
        assert (await graphql.as_(token)(ME)).error_code == "UNAUTHENTICATED", name


async def test_missing_or_absurd_claims_are_refused_not_crashed_on(
    graphql: GraphQLClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    _, _, claims = await an_admin(sessions, AdminRole.OWNER)
    without = {name: {k: v for k, v in claims.items() if k != name} for name in claims}
    absurd = {
        "exp far past a datetime": {**claims, "exp": 10**20},
        "sub past a BIGINT": {**claims, "sub": "9" * 30},
        "sub zero": {**claims, "sub": "0"},
        "sub negative": {**claims, "sub": "-1"},
        "sub not a number": {**claims, "sub": "admin"},
        "unknown role": {**claims, "role": "god"},
        "another issuer": {**claims, "iss": "evil"},
        "jti a list": {**claims, "jti": ["a"]},
    }
    for name, forged in {**without, **absurd}.items():
        if name == "iat":
            continue  # not required: a token without it is still ours
        response = await graphql.as_(signed(forged))(ME)
        assert response.error_code == "UNAUTHENTICATED", (name, response.body)


async def test_the_role_comes_from_the_database_not_from_the_token(
    graphql: GraphQLClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    _, _, claims = await an_admin(sessions, AdminRole.READONLY)
    owner_claim = signed({**claims, "role": "owner"})  # signed with our key, yet a lie

    assert (await graphql.as_(owner_claim)("{ admins { id } }")).error_code == "FORBIDDEN"
    assert (await graphql.as_(owner_claim)(ME)).data["me"]["role"] == "READONLY"


async def test_a_demotion_or_deactivation_applies_to_tokens_already_held(
    graphql: GraphQLClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    _, owner_token, _ = await an_admin(sessions, AdminRole.OWNER)
    marketer_id, marketer_token, _ = await an_admin(sessions, AdminRole.MARKETING)
    owner, marketer = graphql.as_(owner_token), graphql.as_(marketer_token)
    create = 'mutation { createSegment(name: "Все", rules: {}) { id } }'
    change = """
    mutation($id: Int!, $input: UpdateAdminInput!) { updateAdmin(id: $id, input: $input) { id } }
    """

    assert (await marketer(create)).data["createSegment"]["id"]
    await owner(change, id=marketer_id, input={"role": "READONLY"})
    assert (await marketer(create)).error_code == "FORBIDDEN"
    await owner(change, id=marketer_id, input={"isActive": False})
    assert (await marketer(ME)).error_code == "UNAUTHENTICATED"


async def test_logging_out_revokes_that_token_only(
    graphql: GraphQLClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    async with sessions() as session, session.begin():
        admin = await make_admin(session)
    laptop, phone = (tokens.issue(admin, secret=JWT_SECRET, now=utcnow()).token for _ in "ab")

    assert (await graphql.as_(laptop)("mutation { logout }")).data == {"logout": True}
    assert (await graphql.as_(laptop)(ME)).error_code == "UNAUTHENTICATED"
    assert (await graphql.as_(laptop)("mutation { logout }")).error_code == "UNAUTHENTICATED"
    assert (await graphql.as_(phone)(ME)).data["me"]["email"] == admin.email


@pytest.mark.parametrize("scheme", ["Basic {t}", "Token {t}", "{t}", "Bearer", "Bearer{t}"])
async def test_a_token_outside_a_bearer_header_is_anonymous(
    graphql: GraphQLClient, sessions: async_sessionmaker[AsyncSession], scheme: str
) -> None:
    _, token, _ = await an_admin(sessions, AdminRole.OWNER)
    response = await graphql.http.post(
        "/graphql", json={"query": ME}, headers={"Authorization": scheme.format(t=token)}
    )
    assert [e["extensions"]["code"] for e in response.json()["errors"]] == ["UNAUTHENTICATED"]


async def test_queries_and_mutations_over_get_are_refused(
    graphql: GraphQLClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    _, token, _ = await an_admin(sessions, AdminRole.OWNER)
    headers = {"Authorization": f"Bearer {token}"}
    for query in (ME, "mutation { logout }"):
        response = await graphql.http.get("/graphql", params={"query": query}, headers=headers)
        assert response.status_code in (400, 405), response.text
    assert (await graphql.as_(token)(ME)).data["me"]["role"] == "OWNER"  # logout never ran
