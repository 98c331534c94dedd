"""Who may touch what: the role matrix, as data, and the permission classes it yields.

Every root field (query, mutation, subscription) and every guarded object
field is listed in `ROLE_MATRIX` with the least role it needs (None = public).
Schema modules ask `allow("Type.field")` for their permission classes, so a
field cannot be declared without an entry here, and a test walks the built
schema to check both directions: every field is in the matrix and every
matrix entry is in the schema.

Roles are ordered: readonly < marketing < owner.

A field hidden from a role must not leak through what it may ask either: an
argument that filters, sorts, searches or counts by a field is declared in
`ARGUMENT_MATRIX` with the fields it reads, and the same field rules decide who
may use it (see there). The role matrix test walks every argument of the
schema against it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from strawberry.extensions import FieldExtension
from strawberry.permission import BasePermission, PermissionExtension
from strawberry.types import Info
from strawberry.utils.str_converters import to_snake_case

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
    # Customer care (customer_care.py): marketing answers the customers' calls;
    # erasing personal data is irreversible, so only an owner may.
    "Mutation.setCustomerSubscription": MARKETING,
    "Mutation.eraseCustomer": OWNER,
    # Background bulk jobs (jobs.py): whoever sees customers sees how a bulk action goes.
    "Query.job": READONLY,
    "Query.jobs": READONLY,
    "Subscription.jobProgress": READONLY,
    # An admin's direct message to one customer (customer_messages.py): customer care.
    "Mutation.sendCustomerMessage": MARKETING,
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
    # The task monitor (task_runs.py): operations, and a retry sends work again.
    "Query.taskRuns": OWNER,
    "Query.taskStats": OWNER,
    "Mutation.retryTaskRun": OWNER,
    # Analytics
    "Query.kpi": READONLY,
}


@dataclass(frozen=True)
class Reads:
    """The object fields (`Type.field`) an argument filters, sorts, searches or counts by.

    A role that may not see one of them may not use the argument to find out
    about it either, or a hidden phone is rebuilt digit by digit from which
    customers a search finds. Two ways to keep it hidden, chosen per argument:

    - an explicit filter or sort key (`free_text=False`) given by such a role is
      FORBIDDEN: the caller asked for something it may not have, and says so;
    - a free-text search (`free_text=True`) is narrowed silently to the fields
      the role sees (readonly's customer search matches names and Telegram ids):
      the same box serves every role, and "no match" is the honest answer.
    """

    fields: tuple[str, ...] = ()
    free_text: bool = False


def reads(*fields: str) -> Reads:
    return Reads(fields)


def searches(*fields: str) -> Reads:
    return Reads(fields, free_text=True)


NOTHING = Reads()
SEGMENT_RULE_READS: dict[str, Reads] = {
    "tags_any": reads("Customer.tags"),
    "tags_all": reads("Customer.tags"),
    "tags_none": reads("Customer.tags"),
    "status": reads("Customer.status"),
    "subscribed_from": reads("Customer.subscribedAt"),
    "subscribed_to": reads("Customer.subscribedAt"),
    "birthday_month": reads("Customer.birthday"),
    "has_active_discount": reads("Customer.discounts"),
    "redeemed_count_at_least": reads("Customer.discounts"),
    "last_seen_after": reads("Customer.lastSeenAt"),
    "last_seen_before": reads("Customer.lastSeenAt"),
    "source": reads("Customer.source"),
}
"""Segment rules (JSON) by key. Stored rules are counted for whoever reads a segment
(`Segment.count`), where no argument is checked, so no rule may read a guarded field."""

# Every argument of every query and subscription field, and of object fields, except
# paging (`first`, `after`): `Field(argument).inputField`, `=VALUE` for each value of
# a sort key, `.key` for a JSON object's keys. Mutations are left out: each needs a
# role that sees every guarded field (the role matrix test checks both).
ARGUMENT_MATRIX: dict[str, Reads] = {
    # Customers
    "Query.customers(filter).search": searches(
        "Customer.firstName",
        "Customer.lastName",
        "Customer.telegramId",
        "Customer.username",
        "Customer.phone",
    ),
    "Query.customers(filter).status": reads("Customer.status"),
    "Query.customers(filter).tagsAny": reads("Customer.tags"),
    "Query.customers(filter).tagsAll": reads("Customer.tags"),
    "Query.customers(filter).tagsNone": reads("Customer.tags"),
    "Query.customers(filter).birthdayMonth": reads("Customer.birthday"),
    "Query.customers(filter).hasActiveDiscount": reads("Customer.discounts"),
    "Query.customers(filter).source": reads("Customer.source"),
    "Query.customers(filter).createdFrom": reads("Customer.createdAt"),
    "Query.customers(filter).createdTo": reads("Customer.createdAt"),
    "Query.customers(orderBy).field=ID": reads("Customer.id"),
    "Query.customers(orderBy).field=CREATED_AT": reads("Customer.createdAt"),
    "Query.customers(orderBy).field=LAST_SEEN_AT": reads("Customer.lastSeenAt"),
    "Query.customers(orderBy).direction": NOTHING,
    "Query.customer(id)": reads("Customer.id"),
    # Discounts
    "Query.discounts(filter).kinds": reads("Discount.kind"),
    "Query.discounts(filter).statuses": reads("Discount.status"),
    "Query.discounts(filter).issuedFrom": reads("Discount.issuedAt"),
    "Query.discounts(filter).issuedTo": reads("Discount.issuedAt"),
    "Query.discounts(filter).cashierId": reads("Discount.cashierId"),
    "Query.discounts(filter).store": reads("Discount.store"),
    "Query.discounts(filter).customerId": reads("Discount.customerId"),
    "Query.discounts(filter).broadcastId": reads("Discount.broadcastId"),
    "Query.discount(id)": reads("Discount.id"),
    "Query.discount(code)": reads("Discount.code"),
    "Query.discountStats(start)": reads("Discount.issuedAt", "Discount.redeemedAt"),
    "Query.discountStats(end)": reads("Discount.issuedAt", "Discount.redeemedAt"),
    # Segments
    "Query.segment(id)": reads("Segment.id"),
    **{f"Query.previewSegment(rules).{key}": rule for key, rule in SEGMENT_RULE_READS.items()},
    # Broadcasts
    "Query.broadcasts(status)": reads("Broadcast.status"),
    "Query.broadcast(id)": reads("Broadcast.id"),
    "Broadcast.deliveries(status)": reads("Delivery.status"),
    "Subscription.broadcastProgress(id)": reads("Broadcast.id"),
    # Background bulk jobs
    "Query.job(id)": reads("Job.id"),
    "Subscription.jobProgress(id)": reads("Job.id"),
    # Audit log
    "Query.auditLog(entityType)": reads("AuditEntry.entityType"),
    "Query.auditLog(entityId)": reads("AuditEntry.entityId"),
    "Query.auditLog(actorId)": reads("AuditEntry.actorId"),
    "Query.auditLog(action)": reads("AuditEntry.action"),
    "Query.auditLog(actorKind)": reads("AuditEntry.actorKind"),
    # The task monitor
    "Query.taskRuns(filter).task": reads("TaskRun.task"),
    "Query.taskRuns(filter).state": reads("TaskRun.state"),
    "Query.taskStats(since)": reads("TaskRun.queuedAt", "TaskRun.finishedAt"),
    # Analytics
    "Query.kpi(start)": reads("Customer.createdAt", "Discount.issuedAt", "Discount.redeemedAt"),
    "Query.kpi(end)": reads("Customer.createdAt", "Discount.issuedAt", "Discount.redeemedAt"),
    "Query.kpi(granularity)": NOTHING,
}


def role_allows(role: AdminRole, required: AdminRole) -> bool:
    return RANK[role] >= RANK[required]


def sees_field(role: AdminRole, coordinate: str) -> bool:
    """Whether `role` sees an object field (one not in the matrix is seen by all)."""
    required = ROLE_MATRIX.get(coordinate)
    return required is None or role_allows(role, required)


def searchable_fields(role: AdminRole, argument: str) -> frozenset[str]:
    """What a free-text argument may match for `role`: the fields of it the role sees."""
    rule = ARGUMENT_MATRIX[argument]
    if not rule.free_text:
        raise ValueError(f"{argument} is not a free-text search")
    return frozenset(field for field in rule.fields if sees_field(role, field))


_ARGUMENT_PATH = re.compile(
    r"^(?P<field>\w+\.\w+)\((?P<argument>\w+)\)(?P<keys>(?:\.\w+)*)(?:=(?P<value>\w+))?$"
)


def refused_argument(coordinate: str, role: AdminRole, arguments: Mapping[str, Any]) -> str | None:
    """The first argument given to `coordinate` that filters or sorts by a field hidden
    from `role` (free-text searches are narrowed instead, never refused)."""
    for path, rule in ARGUMENT_MATRIX.items():
        if rule.free_text or not path.startswith(f"{coordinate}("):
            continue
        if all(sees_field(role, field) for field in rule.fields):
            continue
        if _given(arguments, path):
            return path
    return None


def _given(arguments: Mapping[str, Any], path: str) -> bool:
    """Whether resolver arguments (Python names, converted inputs) set this path."""
    parts = _ARGUMENT_PATH.match(path)
    if parts is None:
        raise ValueError(f"malformed argument path {path!r}")
    value = arguments.get(to_snake_case(parts["argument"]))
    for key in filter(None, parts["keys"].split(".")):
        if value is None:
            return False
        if isinstance(value, Mapping):  # a JSON object: keys as sent
            value = value.get(key)
        else:  # an input object
            value = getattr(value, to_snake_case(key), None)
    if parts["value"] is None or value is None:
        return value is not None
    values = value if isinstance(value, list | tuple) else [value]
    return any(getattr(item, "name", item) == parts["value"] for item in values)


class RolePermission(BasePermission):
    """Allows admins whose role is at least `required`; `None` lets anyone in.

    Refusals raise typed domain errors (UNAUTHENTICATED, FORBIDDEN), which the
    error extension turns into `extensions.code`; instances are shared by all
    requests, so nothing per-request is stored on them. An argument that filters
    by a field the admin cannot see is FORBIDDEN as well (`ARGUMENT_MATRIX`).
    """

    required: AdminRole | None = None

    async def has_permission(self, source: Any, info: Info[Any, Any], **kwargs: Any) -> bool:
        if self.required is None:
            return True
        admin = await info.context.admin()
        if admin is None:
            raise Unauthenticated("sign in first: send Authorization: Bearer <token>")
        # The response path names the type the field is on ("Query", "Mutation", ...).
        coordinate = f"{info.path.typename}.{info.field_name}"
        if not role_allows(admin.role, self.required):
            raise Forbidden(f"{coordinate} needs the {self.required.value} role")
        refused = refused_argument(coordinate, admin.role, kwargs)
        if refused is not None:
            raise Forbidden(
                f"{refused} filters by a field the {admin.role.value} role cannot see",
                argument=refused,
            )
        return True


class HiddenUnlessRole(BasePermission):
    """An object field that reads as null below `required` (e.g. a customer's phone).

    Synchronous: objects are only reached through root fields that already
    signed the admin in, so the admin is known; an async check would make
    every row of a 50-customer page resolve as its own task. Unknown admin:
    hidden (closed by default).
    """

    required: AdminRole = OWNER

    def has_permission(self, source: Any, info: Info[Any, Any], **kwargs: Any) -> bool:
        return self.allows(info.context)

    def allows(self, context: Any) -> bool:
        """The check without a source or an `Info`: the lean executor asks it per row
        (`backend.graphql.lean_execution`), for the same answer at a fraction of the cost."""
        admin = context.admin_so_far
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
