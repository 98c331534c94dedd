"""Telegram Mini Apps: the customer's card and the cashier's scanner, served by `dvorik serve`.

A transport like the bots: the pages (`pages`) call a small JSON API under
`/app/api/` (`card`, `till`), every request signed by Telegram's initData
(`init_data`, `access`), and the API calls what the bots call
(`backend.replies`, the domain), so both say and do the same.
"""

from __future__ import annotations

from fastapi import FastAPI

from backend.mini_apps import card, pages, till
from backend.mini_apps.access import Refusal, refusal_response


def mount_mini_apps(app: FastAPI) -> None:
    app.include_router(pages.router)
    app.include_router(card.router)
    app.include_router(till.router)
    pages.mount_files(app)
    app.add_exception_handler(Refusal, refusal_response)
