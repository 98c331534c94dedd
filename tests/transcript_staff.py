"""What staff do in a transcript's `*` lines, by their wording: admin API calls.

Each action is a regular expression over the whole line after «* » and a
handler that makes the change through GraphQL as the admin panel would (or,
for the passing of time, in the database). Add one here when a transcript
needs a new staff action.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from datetime import datetime, time
from typing import TYPE_CHECKING

from sqlalchemy import update

from backend.domain.models import AdminRole, Discount

if TYPE_CHECKING:
    from tests.transcripts import Player

Action = Callable[["Player", re.Match[str]], Awaitable[None]]
ACTIONS: list[tuple[re.Pattern[str], Action]] = []


def action(pattern: str) -> Callable[[Action], Action]:
    """What a `*` line does, by its wording (the whole line after «* » must match)."""

    def register(handler: Action) -> Action:
        ACTIONS.append((re.compile(pattern), handler))
        return handler

    return register


INVITE = """
mutation($name: String!, $store: String!) {
  inviteCashier(name: $name, store: $store) { inviteCode cashier { id } }
}
"""
SET_ACTIVE = "mutation($id: Int!) { setCashierActive(id: $id, active: false) { isActive } }"
ISSUE = """
mutation($input: IssueDiscountInput!) {
  issueDiscount(input: $input) { code notification { id status } }
}
"""
CANCEL = (
    "mutation($id: Int!, $reason: String) { cancelDiscount(id: $id, reason: $reason) { status } }"
)
ERASE = """
mutation($customerId: Int!, $reason: String!) {
  eraseCustomer(customerId: $customerId, reason: $reason) { cancelledCodes }
}
"""
SETTING = (
    "mutation($key: String!, $value: JSON!) { updateSetting(key: $key, value: $value) { key } }"
)


@action(r"Владелец приглашает кассира: (?P<name>\S+), магазин «(?P<store>.+)» → \{(?P<var>.+)\}")
async def invite_cashier(player: Player, match: re.Match[str]) -> None:
    invited = (await player.gql(AdminRole.OWNER, INVITE, name=match["name"], store=match["store"]))[
        "inviteCashier"
    ]
    player.values[match["var"]] = invited["inviteCode"]
    player.cashier_ids[match["name"]] = invited["cashier"]["id"]


@action(r"Владелец отключает кассира: (?P<name>\S+)")
async def deactivate_cashier(player: Player, match: re.Match[str]) -> None:
    await player.gql(AdminRole.OWNER, SET_ACTIVE, id=player.cashier_ids[match["name"]])


@action(r"Владелец в настройках магазина: (?P<key>[a-z_]+) = (?P<value>.+?)(?: \(.*\))?")
async def change_setting(player: Player, match: re.Match[str]) -> None:
    await player.gql(AdminRole.OWNER, SETTING, key=match["key"], value=json.loads(match["value"]))


@action(
    r"Маркетолог выдаёт покупателю (?P<name>\S+) персональную скидку (?P<percent>\d+)%"
    r": «(?P<reason>.+)»(?P<then>, фоновый обработчик отправляет уведомление)?"
)
async def issue_discount(player: Player, match: re.Match[str]) -> None:
    given = (
        await player.gql(
            AdminRole.MARKETING,
            ISSUE,
            input={
                "customerId": await player.customer_id(match["name"]),
                "reason": match["reason"],
                "percent": int(match["percent"]),
            },
        )
    )["issueDiscount"]
    if match["then"]:
        worker = await player.notices()
        notice = given["notification"]["id"]
        assert await worker.run("send_planned_notification", notification_id=notice) == "sent"


@action(r"Маркетолог отменяет скидку по коду \{(?P<code>[^}]+)\}: «(?P<reason>.+)»")
async def cancel_discount(player: Player, match: re.Match[str]) -> None:
    code = player.known(match["code"])
    assert code is not None, match["code"]
    await player.gql(
        AdminRole.MARKETING, CANCEL, id=await player.discount_id(code), reason=match["reason"]
    )


@action(r"Владелец удаляет данные покупателя (?P<name>\S+) по её просьбе: «(?P<reason>.+)»")
async def erase_customer(player: Player, match: re.Match[str]) -> None:
    customer = await player.customer_id(match["name"])
    await player.gql(AdminRole.OWNER, ERASE, customerId=customer, reason=match["reason"])


@action(r"Проходит время: последний день кода \{(?P<code>[^}]+)\} был вчера.*")
async def expire_code(player: Player, match: re.Match[str]) -> None:
    """The clock cannot be moved for a running server; the code's end is moved instead."""
    code = player.known(match["code"])
    assert code is not None, match["code"]
    async with player.sessions() as session, session.begin():
        await session.execute(
            update(Discount)
            .where(Discount.code == code)
            .values(expires_at=datetime.combine(player.today, time(0), tzinfo=player.zone))
        )
