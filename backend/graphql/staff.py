"""Admins and cashiers in the admin API (owner's business, cashiers readable by all)."""

import datetime as dt

import strawberry
from strawberry.types import Info

from backend.domain import admins, cashiers
from backend.domain import models as m
from backend.domain.errors import NotFound, ValidationFailed
from backend.graphql import socket_sign_outs
from backend.graphql.mapping import copied
from backend.graphql.permissions import allow
from backend.graphql.scalars import AdminRole, to_api, to_domain


@strawberry.type
class Admin:
    id: int
    email: str
    role: AdminRole
    telegram_id: str | None
    is_active: bool
    created_at: dt.datetime

    @classmethod
    def of(cls, row: m.Admin) -> "Admin":
        return copied(
            cls,
            row,
            role=to_api(AdminRole, row.role),
            telegram_id=str(row.telegram_id) if row.telegram_id else None,
        )


@strawberry.type
class Cashier:
    id: int
    name: str
    store: str
    is_active: bool
    joined_at: dt.datetime | None
    created_at: dt.datetime

    @classmethod
    def of(cls, row: m.Cashier) -> "Cashier":
        return copied(cls, row)


@strawberry.type(description="Hand `inviteCode` to the cashier: /start <code> in the till bot.")
class CashierInvite:
    cashier: Cashier
    invite_code: str
    expires_at: dt.datetime


@strawberry.input
class CreateAdminInput:
    email: str
    password: str
    role: AdminRole
    telegram_id: str | None = None


@strawberry.input
class UpdateAdminInput:
    role: AdminRole | None = None
    is_active: bool | None = None


def _telegram_id(raw: str | None) -> int | None:
    if raw is None:
        return None
    if not raw.isdigit():
        raise ValidationFailed("telegram id must be digits", field="telegramId")
    return int(raw)


@strawberry.type
class StaffQueries:
    @strawberry.field(permission_classes=allow("Query.admins"))
    async def admins(self, info: Info) -> list[Admin]:
        session = await info.context.session()
        return [Admin.of(row) for row in await admins.list_all(session)]

    @strawberry.field(permission_classes=allow("Query.cashiers"))
    async def cashiers(self, info: Info) -> list[Cashier]:
        session = await info.context.session()
        return [Cashier.of(row) for row in await cashiers.list_all(session)]


@strawberry.type
class StaffMutations:
    @strawberry.mutation(permission_classes=allow("Mutation.createAdmin"))
    async def create_admin(self, info: Info, input: CreateAdminInput) -> Admin:
        actor = await info.context.actor()
        async with info.context.transaction() as session:
            row = await admins.create(
                session,
                input.email,
                input.password,
                to_domain(m.AdminRole, input.role),
                actor=actor,
                telegram_id=_telegram_id(input.telegram_id),
            )
        return Admin.of(row)

    @strawberry.mutation(permission_classes=allow("Mutation.updateAdmin"))
    async def update_admin(self, info: Info, id: int, input: UpdateAdminInput) -> Admin:
        actor = await info.context.actor()
        async with info.context.transaction() as session:
            row = await admins.change_access(
                session,
                id,
                role=to_domain(m.AdminRole, input.role),
                is_active=input.is_active,
                actor=actor,
            )
        if not row.is_active:  # signed out everywhere: open sockets close with 4403
            await socket_sign_outs.announce(info.context.runtime.pubsub, admin_id=row.id)
        return Admin.of(row)

    @strawberry.mutation(permission_classes=allow("Mutation.inviteCashier"))
    async def invite_cashier(self, info: Info, name: str, store: str) -> CashierInvite:
        actor = await info.context.actor()
        async with info.context.transaction() as session:
            row, code = await cashiers.invite(
                session, name, store, actor=actor, now=info.context.now()
            )
        if row.invite_expires_at is None:
            raise NotFound("invite vanished")
        return CashierInvite(
            cashier=Cashier.of(row), invite_code=code, expires_at=row.invite_expires_at
        )

    @strawberry.mutation(permission_classes=allow("Mutation.setCashierActive"))
    async def set_cashier_active(self, info: Info, id: int, active: bool) -> Cashier:
        actor = await info.context.actor()
        async with info.context.transaction() as session:
            row = await cashiers.set_active(session, id, active, actor=actor)
        return Cashier.of(row)


ROOTS = {"query": StaffQueries, "mutation": StaffMutations}
