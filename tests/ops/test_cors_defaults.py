"""CORS out of the box: a developer's SPA (or the contract's example) on ADMIN_SPA_URL
works against `make run`; production allows no origin until CORS_ORIGINS names one."""

from __future__ import annotations

import httpx

from backend.settings import Environment, Settings

DEV_SPA = "http://127.0.0.1:5173"  # ADMIN_SPA_URL's default


async def preflight(base_url: str, origin: str) -> str | None:
    async with httpx.AsyncClient(base_url=base_url) as http:
        response = await http.options(
            "/graphql",
            headers={
                "Origin": origin,
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "authorization,content-type",
            },
        )
    allowed: str | None = response.headers.get("access-control-allow-origin")
    return allowed


async def test_a_dev_server_on_the_spa_address_may_call_the_development_api(
    base_url: str,
) -> None:
    assert await preflight(base_url, DEV_SPA) == DEV_SPA
    assert await preflight(base_url, "http://127.0.0.1:5174") is None
    assert await preflight(base_url, "https://evil.test") is None


def test_the_spa_origin_is_the_development_default_only() -> None:
    spa = "https://admin.dvorik.test/app/"
    development = Settings.model_construct(admin_spa_url=spa, cors_origins="")
    production = Settings.model_construct(
        environment=Environment.PRODUCTION, admin_spa_url=spa, cors_origins=""
    )
    listed = Settings.model_construct(admin_spa_url=spa, cors_origins=" https://a.test, ")
    assert development.allowed_origins == ["https://admin.dvorik.test"]
    assert production.allowed_origins == []
    assert listed.allowed_origins == ["https://a.test"]
