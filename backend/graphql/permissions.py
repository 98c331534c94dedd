"""Who may touch what: the role matrix, as data, and the permission classes it yields.

Every root field (query, mutation, subscription) and every guarded object
field is listed in `ROLE_MATRIX` with the least role it needs (None = public).
Schema modules ask `allow("Type.field")` for their permission classes, so a
field cannot be declared without an entry here, and a test walks the built
schema to check both directions: every field is in the matrix and every
matrix entry is in the schema.

Roles are ordered: readonly < marketing < owner.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from strawberry.extensions import FieldExtension
from strawberry.permission import BasePermission, PermissionExtension
from strawberry.types import Info

from backend.domain.errors import Forbidden, Unauthenticated
from backend.domain.models import AdminRole

READONLY, MARKETING, OWNER = AdminRole.READONLY, AdminRole.MARKETING, AdminRole.OWNER
RANK = {READONLY: 1, MARKETING: 2, OWNER: 3}

ROLE_MATRIX: dict[str, AdminRole | None] = {
    # Sign-in
    "Query.me": READONLY,
    "Mutation.login": None,
    "Mutation.loginWithToken": None,
    "Mutation.logout": READONLY,
    # Customers
    "Query.customers": READONLY,
    "Query.customer": READONLY,
    "Customer.phone": MARKETING,
    "Customer.username": MARKETING,
    "Mutation.updateCustomer": MARKETING,
    "Mutation.bulkTagCustomers": MARKETING,
    "Mutation.bulkIssueDiscount": MARKETING,
    # Discounts
    "Query.discounts": READONLY,
    "Query.discount": READONLY,
    "Query.discountStats": READONLY,
    "Mutation.issueDiscount": MARKETING,
    "Mutation.cancelDiscount": MARKETING,
    # Segments
    "Query.segments": READONLY,
    "Query.segment": READONLY,
    "Query.previewSegment": READONLY,
    "Mutation.createSegment": MARKETING,
    "Mutation.updateSegment": MARKETING,
    "Mutation.deleteSegment": MARKETING,
    # Broadcasts
    "Query.broadcasts": READONLY,
    "Query.broadcast": READONLY,
    "Mutation.createBroadcast": MARKETING,
    "Mutation.updateBroadcast": MARKETING,
    "Mutation.scheduleBroadcast": MARKETING,
    "Mutation.sendBroadcastNow": MARKETING,
    "Mutation.pauseBroadcast": MARKETING,
    "Mutation.resumeBroadcast": MARKETING,
    "Mutation.cancelBroadcast": MARKETING,
    "Subscription.broadcastProgress": READONLY,
    # Templates
    "Query.templates": READONLY,
    "Mutation.createTemplate": MARKETING,
    "Mutation.updateTemplate": MARKETING,
    "Mutation.deleteTemplate": MARKETING,
    # Settings, staff, audit
    "Query.settings": READONLY,
    "Mutation.updateSetting": OWNER,
    "Query.admins": OWNER,
    "Mutation.createAdmin": OWNER,
    "Mutation.updateAdmin": OWNER,
    "Query.cashiers": READONLY,
    "Mutation.inviteCashier": OWNER,
    "Mutation.setCashierActive": OWNER,
    "Query.auditLog": OWNER,
    # Analytics
    "Query.kpi": READONLY,
}


def role_allows(role: AdminRole, required: AdminRole) -> bool:
    return RANK[role] >= RANK[required]


class RolePermission(BasePermission):
    """Allows admins whose role is at least `required`; `None` lets anyone in.

    Refusals raise typed domain errors (UNAUTHENTICATED, FORBIDDEN), which the
    error extension turns into `extensions.code`; instances are shared by all
    requests, so nothing per-request is stored on them.
    """

    required: AdminRole | None = None

    async def has_permission(self, source: Any, info: Info[Any, Any], **kwargs: Any) -> bool:
        if self.required is None:
            return True
        admin = await info.context.admin()
        if admin is not None and role_allows(admin.role, self.required):
            return True
        if admin is None:
            raise Unauthenticated("sign in first: send Authorization: Bearer <token>")
        coordinate = f"{info._raw_info.parent_type.name}.{info.field_name}"
        raise Forbidden(f"{coordinate} needs the {self.required.value} role")


class HiddenUnlessRole(BasePermission):
    """An object field that reads as null below `required` (e.g. a customer's phone).

    Synchronous: objects are only reached through root fields that already
    signed the admin in, so the admin is known; an async check would make
    every row of a 50-customer page resolve as its own task. Unknown admin:
    hidden (closed by default).
    """

    required: AdminRole = OWNER

    def has_permission(self, source: Any, info: Info[Any, Any], **kwargs: Any) -> bool:
        admin = info.context.admin_so_far
        return admin is not None and role_allows(admin.role, self.required)


@cache
def _hidden_class(required: AdminRole) -> type[HiddenUnlessRole]:
    """One class per role: the schema names a directive after each."""
    name = f"Requires{required.value.title()}OrHidden"
    return type(name, (HiddenUnlessRole,), {"required": required})


def _permission_class(coordinate: str) -> type[RolePermission]:
    return _role_class(ROLE_MATRIX[coordinate])


@cache
def _role_class(required: AdminRole | None) -> type[RolePermission]:
    """One class per role: the schema names a directive after each."""
    name = f"Requires{(required.value if required else 'nothing').title()}"
    return type(name, (RolePermission,), {"required": required})


def allow(coordinate: str) -> list[type[BasePermission]]:
    """Permission classes for a root field, from the matrix (KeyError if missing)."""
    return [_permission_class(coordinate)]


def hidden_unless(coordinate: str) -> list[FieldExtension]:
    """For object fields that come back null (not an error) for lesser roles."""
    required = ROLE_MATRIX[coordinate]
    if required is None:
        raise ValueError(f"{coordinate} is public: nothing to hide")
    return [PermissionExtension([_hidden_class(required)()], fail_silently=True)]
