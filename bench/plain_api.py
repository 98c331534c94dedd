"""The reference the GraphQL customers page is compared with: one hand-written JSON endpoint.

    python -m bench.plain_api --port 8123    (DATABASE_URL, JWT_SECRET_KEY from the env)

`GET /customers?first=50&status=active&tags_any=vip` answers what
`customers(first: 50, filter: {status: [ACTIVE], tagsAny: ["vip"]})` with
tags and discounts answers, from the same statements: the bearer token is
checked as the GraphQL context checks it (signature, then the admin row), the
page comes from `customer_search.page`, tags and discounts from one statement
each, as the DataLoaders issue them. `discounts=false&total=true` answers the
contract's `CustomerList` instead (no discounts, with `totalCount`), the
trusted document the bench also measures. What is left out is exactly what GraphQL
adds: parsing and validating the document, resolving field by field,
permission classes, DataLoader batching. Served by uvicorn like `dvorik serve`.
"""

from __future__ import annotations

import argparse
from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime
from typing import Any

import uvicorn
from fastapi import FastAPI, Query, Request
from fastapi.responses import JSONResponse
from sqlalchemy import select

from backend.domain import customer_search, segments, sign_in
from backend.domain.database import create_engine, create_sessionmaker
from backend.domain.models import Customer, Discount, Tag, customer_tags
from backend.domain.pagination import Direction
from backend.graphql import tokens
from backend.heap import freeze_start_up_heap
from backend.settings import get_settings


def _instant(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat() if value is not None else None


def _day(value: date | None) -> str | None:
    return value.isoformat() if value is not None else None


def create_app() -> FastAPI:
    settings = get_settings()
    engine = create_engine(settings.database_url)
    sessions = create_sessionmaker(engine)
    secret = settings.secret("jwt_secret_key")

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        freeze_start_up_heap()  # as `dvorik serve` does, so both tails are compared fairly
        yield
        await engine.dispose()

    app = FastAPI(lifespan=lifespan, openapi_url=None, docs_url=None, redoc_url=None)

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/customers")
    async def customers(
        request: Request,
        first: int = 50,
        status: list[str] = Query(default_factory=list),  # noqa: B008
        tags_any: list[str] = Query(default_factory=list),  # noqa: B008
        discounts: bool = True,
        total: bool = False,
    ) -> JSONResponse:
        now = datetime.now(UTC)
        token = tokens.bearer(request.headers.get("authorization"))
        if token is None:
            return JSONResponse({"error": "sign in"}, status_code=401)
        claims = tokens.decode(token, secret=secret, now=now)
        raw: dict[str, Any] = {}
        if status:
            raw["status"] = status
        if tags_any:
            raw["tags_any"] = tags_any
        search = customer_search.CustomerFilter(rules=segments.parse_rules(raw))
        ordering = customer_search.ordering("created_at", Direction.DESC)
        async with sessions() as session:
            if await sign_in.active_admin(session, claims.admin_id, claims.jti) is None:
                return JSONResponse({"error": "revoked"}, status_code=401)
            page = await customer_search.page(
                session, search, ordering, now=now, first=first, after=None
            )
            ids = [row.id for row in page.rows]
            tags: dict[int, list[str]] = defaultdict(list)
            for customer_id, name in await session.execute(
                select(customer_tags.c.customer_id, Tag.name)
                .join(Tag, Tag.id == customer_tags.c.tag_id)
                .where(customer_tags.c.customer_id.in_(ids))
                .order_by(Tag.name)
            ):
                tags[customer_id].append(name)
            given: dict[int, list[Discount]] = defaultdict(list)
            if discounts:
                for discount in await session.scalars(
                    select(Discount)
                    .where(Discount.customer_id.in_(ids))
                    .order_by(Discount.issued_at.desc(), Discount.id.desc())
                ):
                    given[discount.customer_id].append(discount)
            counted = await customer_search.count(session, search, now=now) if total else None
        listed = [_customer(row, tags[row.id], given[row.id], discounts) for row in page.rows]
        answer: dict[str, Any] = {"hasNextPage": page.has_next, "customers": listed}
        if counted is not None:
            answer["totalCount"] = counted
        return JSONResponse(answer)

    return app


def _customer(
    row: Customer, tags: list[str], discounts: list[Discount], with_discounts: bool
) -> dict[str, Any]:
    shown = {
        "id": row.id,
        "telegramId": str(row.telegram_id),
        "firstName": row.first_name,
        "lastName": row.last_name,
        "username": row.username,
        "phone": row.phone,
        "status": row.status.value.upper(),
        "birthday": _day(row.birthday),
        "source": row.source,
        "tags": tags,
        "createdAt": _instant(row.created_at),
        "lastSeenAt": _instant(row.last_seen_at),
        "discounts": [
            {
                "id": discount.id,
                "code": discount.code,
                "kind": discount.kind.value.upper(),
                "percent": discount.percent,
                "status": discount.status.value.upper(),
                "issuedAt": _instant(discount.issued_at),
                "expiresAt": _instant(discount.expires_at),
            }
            for discount in discounts
        ],
    }
    if not with_discounts:
        del shown["discounts"]
    return shown


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    uvicorn.run(create_app(), host="127.0.0.1", port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
