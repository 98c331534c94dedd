"""`/metrics`: this process's Prometheus metrics, for a scraper holding INTERNAL_API_KEY.

The figures are kept as requests and tasks run (`backend.observability`);
the shared state (the task queue's depth, the database and Redis, the
broadcasts sending) is read at scrape time (`backend.app.scrape`).
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response

from backend.app.internal_key import UNAUTHORIZED, InternalRuntime
from backend.app.scrape import refresh_readings
from backend.observability.metrics import exposition

router = APIRouter(tags=["operations"])


@router.get(
    "/metrics",
    summary="Prometheus metrics of this process (X-API-Key or Bearer INTERNAL_API_KEY)",
    response_class=Response,
    responses={200: {"content": {"text/plain": {}}}, **UNAUTHORIZED},
)
async def metrics(runtime: InternalRuntime) -> Response:
    await refresh_readings(runtime)
    body, content_type = exposition()
    return Response(body, media_type=content_type)
