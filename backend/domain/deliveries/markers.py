"""What a delivery row's `last_error` says while and after it is worked on.

The ledger has no columns of its own for leases: a held row carries its
lease in `last_error` (``claimed until <UTC deadline> by <worker>#<nonce>``,
then ``sending until …`` once its request may be on the wire), and a row the
engine could not settle says so there too (``ambiguous: …``). Every other
part of the ledger writes and reads these markers through this module, so
their format lives in one place.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime

from sqlalchemy import or_

from backend.domain.models import BroadcastDelivery, DeliveryStatus

CLAIMED = "claimed until "
STARTED = "sending until "
IN_FLIGHT = (CLAIMED, STARTED)  # prefixes of a held row's last_error
AMBIGUOUS = "ambiguous: "
RELEASED = "released: "
WORKER_LOST = "worker lost while sending (not retried)"
WORKER_LOST_BEFORE = "worker lost before sending"
_DEADLINE_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"
_DEADLINE = re.compile(r"^(?:claimed|sending) until (\S+) by ")

_D = BroadcastDelivery
HELD = or_(_D.last_error.startswith(CLAIMED), _D.last_error.startswith(STARTED))
NOT_HELD = or_(_D.last_error.is_(None), ~HELD)
AMBIGUOUS_ROW = (_D.status == DeliveryStatus.FAILED) & _D.last_error.startswith(AMBIGUOUS)


def lease_marker(worker_id: str, deadline: datetime) -> str:
    stamp = deadline.astimezone(UTC).strftime(_DEADLINE_FORMAT)
    return f"{CLAIMED}{stamp} by {worker_id[:64]}#{uuid.uuid4().hex[:12]}"


def lease_deadline(marker: str | None) -> datetime | None:
    """The deadline written by `lease_marker`, or None for anything else."""
    match = _DEADLINE.match(marker or "")
    if match is None:
        return None
    return datetime.strptime(match.group(1), _DEADLINE_FORMAT).replace(tzinfo=UTC)


def started(lease: str) -> str:
    """The marker `start_sending` writes over a claim's `lease`."""
    return STARTED + lease.removeprefix(CLAIMED)


def renewed(lease: str, deadline: datetime) -> str:
    """The same holder's lease with a later deadline (see `renew_leases`)."""
    holder = lease.split(" by ", 1)[1]
    return f"{CLAIMED}{deadline.astimezone(UTC).strftime(_DEADLINE_FORMAT)} by {holder}"
