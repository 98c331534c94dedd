"""INTERNAL_API_KEY: who may read `/metrics` and call `/internal/*`.

The key comes as `X-API-Key`, compared in constant time. `/metrics` also takes
it as a bearer token: Prometheus sends `Authorization: Bearer …` from its
scrape config (`authorization.credentials_file`).
"""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, Header, HTTPException, Request

from backend.graphql import tokens
from backend.runtime import Runtime
from backend.settings import Settings

ApiKey = Annotated[str | None, Header(alias="X-API-Key")]
Authorization = Annotated[str | None, Header(alias="Authorization")]
UNAUTHORIZED: dict[int | str, dict[str, object]] = {
    401: {"description": "Missing or wrong INTERNAL_API_KEY"}
}


def internal_runtime(request: Request, api_key: str | None) -> Runtime:
    """The runtime, for a caller holding INTERNAL_API_KEY; 401 for anyone else."""
    runtime: Runtime = request.app.state.runtime
    expected = runtime.settings.secret("internal_api_key").encode()
    if api_key is None or not hmac.compare_digest(api_key.encode(), expected):
        raise HTTPException(status_code=401, detail="missing or wrong X-API-Key")
    return runtime


async def by_api_key(request: Request, api_key: ApiKey = None) -> Settings:
    return internal_runtime(request, api_key).settings


async def by_api_key_or_bearer(
    request: Request, api_key: ApiKey = None, authorization: Authorization = None
) -> Runtime:
    return internal_runtime(request, api_key or tokens.bearer(authorization))


InternalSettings = Annotated[Settings, Depends(by_api_key)]
InternalRuntime = Annotated[Runtime, Depends(by_api_key_or_bearer)]
