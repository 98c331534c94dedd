"""Admins sign in to the GraphQL API; forged, expired and revoked tokens are refused."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import jwt
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.domain import admins
from backend.domain.clock import utcnow
from backend.domain.models import AdminRole
from backend.graphql import tokens
from tests.api import JWT_SECRET, LOGIN, GraphQLClient, login
from tests.factories import make_admin

ME = "{ me { email role } }"
PASSWORD = "correct horse battery"


async def test_owner_signs_in_and_sees_who_they_are(
    graphql: GraphQLClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    async with sessions() as session, session.begin():
        await make_admin(session, email="olga@dvorik.test", role=AdminRole.MARKETING)

    token = await login(graphql, "Olga@Dvorik.test", PASSWORD)

    me = await graphql.as_(token)(ME)
    assert me.data == {"me": {"email": "olga@dvorik.test", "role": "MARKETING"}}
    claims = jwt.decode(token, JWT_SECRET, algorithms=["HS256"], issuer="dvorik")
    assert claims["role"] == "marketing" and claims["jti"]
    assert claims["exp"] - claims["iat"] == 24 * 3600


async def test_wrong_password_then_throttled_after_five_failures(
    graphql: GraphQLClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    async with sessions() as session, session.begin():
        await make_admin(session, email="olga@dvorik.test")

    failures = await asyncio.gather(
        *(graphql(LOGIN, email="olga@dvorik.test", password="guess") for _ in range(8))
    )
    codes = sorted(response.error_code for response in failures)
    assert codes.count("INVALID_CREDENTIALS") == 5
    assert codes.count("THROTTLED") == 3

    right_password = await graphql(LOGIN, email="olga@dvorik.test", password=PASSWORD)
    assert right_password.error_code == "THROTTLED"


async def test_one_time_login_link_works_once(
    graphql: GraphQLClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    async with sessions() as session, session.begin():
        admin = await make_admin(session)
        link = await admins.issue_login_token(session, admin.id, now=utcnow())
    exchange = "mutation($t: String!) { loginWithToken(token: $t) { token admin { email } } }"

    first = await graphql(exchange, t=link)
    second = await graphql(exchange, t=link)

    assert first.data["loginWithToken"]["admin"]["email"] == admin.email
    assert second.error_code == "TOKEN_INVALID"


async def test_logout_revokes_the_token(
    graphql: GraphQLClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    async with sessions() as session, session.begin():
        await make_admin(session, email="olga@dvorik.test")
    client = graphql.as_(await login(graphql, "olga@dvorik.test", PASSWORD))

    assert (await client("mutation { logout }")).data == {"logout": True}
    assert (await client(ME)).error_code == "UNAUTHENTICATED"


async def test_forged_expired_and_deactivated_tokens_are_refused(
    graphql: GraphQLClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    async with sessions() as session, session.begin():
        admin = await make_admin(session, role=AdminRole.READONLY)
        gone = await make_admin(session)
        gone.is_active = False
    valid = tokens.issue(admin, secret=JWT_SECRET, now=utcnow()).token
    claims = jwt.decode(valid, JWT_SECRET, algorithms=["HS256"], issuer="dvorik")
    forged = {
        "alg none": jwt.encode(claims, None, algorithm="none"),
        "other key": jwt.encode(claims, "another-secret-" + "y" * 40, algorithm="HS256"),
        "tampered role": jwt.encode({**claims, "role": "owner"}, "g" * 40, algorithm="HS256"),
        "expired": tokens.issue(admin, secret=JWT_SECRET, now=utcnow() - timedelta(days=2)).token,
        "deactivated": tokens.issue(gone, secret=JWT_SECRET, now=utcnow()).token,
        "garbage": "not.a.jwt",
    }
    for name, token in forged.items():
        response = await graphql.as_(token)(ME)
        assert response.error_code == "UNAUTHENTICATED", name
    assert (await graphql(ME)).error_code == "UNAUTHENTICATED"


async def test_a_dashboard_asks_many_root_fields_in_one_request(
    staff: dict[AdminRole, GraphQLClient], sessions: async_sessionmaker[AsyncSession]
) -> None:
    async with sessions() as session, session.begin():
        await make_admin(session)
    dashboard = """
    { me { email } settings { key } templates { key } segments { id }
      customers(first: 5) { totalCount edges { node { tags discounts { code } } } }
      discounts(first: 5) { totalCount } cashiers { id } admins { id } }
    """
    response = await staff[AdminRole.OWNER](dashboard)
    assert set(response.data) == {
        "me",
        "settings",
        "templates",
        "segments",
        "customers",
        "discounts",
        "cashiers",
        "admins",
    }


async def test_owner_creates_an_admin_with_a_long_cyrillic_passphrase_who_signs_in(
    staff: dict[AdminRole, GraphQLClient], graphql: GraphQLClient
) -> None:
    """104 bytes, past bcrypt's 72: created and signed in, never INTERNAL."""
    passphrase = "мармеладный дворик лучший магазин сладостей владивостока"
    created = await staff[AdminRole.OWNER](
        "mutation($input: CreateAdminInput!) { createAdmin(input: $input) { email } }",
        input={"email": "anna@dvorik.test", "password": passphrase, "role": "MARKETING"},
    )
    assert created.error_codes == [] and created.data["createAdmin"]["email"] == "anna@dvorik.test"
    assert await login(graphql, "anna@dvorik.test", passphrase)
    wrong = await graphql(LOGIN, email="anna@dvorik.test", password=passphrase + "!")
    assert wrong.error_codes == ["INVALID_CREDENTIALS"]
