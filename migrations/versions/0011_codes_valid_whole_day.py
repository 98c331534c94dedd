"""discounts.expires_at: active codes last to the end of the business day they show

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06 19:10:00

Codes used to expire at the hour of issue (`issued_at + N days`), while texts
showed only the date: «действует до 20.12.2026» ended at 09:00 on the 20th.
New codes expire at the next midnight in the shop's zone; this moves every
active code's `expires_at` to the end of the business day it falls on, in
TIMEZONE (from the settings, else Asia/Vladivostok), so no code loses time.
The computation is written out here, not imported, so the migration stays
what it was when later code changes. Downgrade keeps the longer validity:
the old moments are not recorded anywhere, and shortening codes customers
already hold would take time away from them.
"""

import os
from collections.abc import Sequence
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from alembic import op

from backend.domain.models.types import UTCDateTime

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DEFAULT_ZONE = "Asia/Vladivostok"
BATCH = 1000

discounts = sa.table(
    "discounts",
    sa.column("id", sa.Integer()),
    sa.column("status", sa.String(16)),
    sa.column("expires_at", UTCDateTime()),
)


def shop_zone() -> ZoneInfo:
    """TIMEZONE as the application reads it; the default if settings cannot be loaded."""
    from backend.settings import ConfigurationError, get_settings

    try:
        return get_settings().zone
    except ConfigurationError:  # e.g. a production check unrelated to the zone
        return ZoneInfo(os.environ.get("TIMEZONE") or DEFAULT_ZONE)


def end_of_day_containing(moment: datetime, zone: ZoneInfo) -> datetime:
    day = moment.astimezone(zone).date() + timedelta(days=1)
    return datetime.combine(day, time(), tzinfo=zone).astimezone(UTC)


def upgrade() -> None:
    zone = shop_zone()
    connection = op.get_bind()
    last_id = 0
    while True:
        rows = connection.execute(
            sa.select(discounts.c.id, discounts.c.expires_at)
            .where(discounts.c.status == "active", discounts.c.id > last_id)
            .order_by(discounts.c.id)
            .limit(BATCH)
        ).all()
        if not rows:
            return
        last_id = rows[-1].id
        changes = [
            {"row_id": row.id, "new_expires_at": end_of_day_containing(row.expires_at, zone)}
            for row in rows
        ]
        connection.execute(
            discounts.update()
            .where(discounts.c.id == sa.bindparam("row_id"))
            .values(expires_at=sa.bindparam("new_expires_at")),
            changes,
        )


def downgrade() -> None:
    """Nothing to undo: the codes keep the time they were given."""
