"""The Mini Apps' pages: an HTML shell per app and their files, built from `mini-apps/`.

The build output is committed in `static/`, so `dvorik serve` needs no Node.js:
`/app/card` and `/app/till` are the shells Telegram opens, `/app/static/` the
scripts and styles they load. The shells are not cached, so a new release is
what the next launch opens.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

STATIC = Path(__file__).parent / "static"
router = APIRouter(tags=["mini apps"])


@router.get("/app/card", summary="The customer's card Mini App (HTML)", include_in_schema=False)
async def card_page() -> FileResponse:
    return shell("card.html")


@router.get("/app/till", summary="The cashier's scanner Mini App (HTML)", include_in_schema=False)
async def till_page() -> FileResponse:
    return shell("till.html")


def shell(name: str) -> FileResponse:
    return FileResponse(
        STATIC / name,
        media_type="text/html; charset=utf-8",
        headers={"Cache-Control": "no-cache"},
    )


def mount_files(app: FastAPI) -> None:
    app.mount("/app/static", StaticFiles(directory=STATIC), name="mini-app-files")
