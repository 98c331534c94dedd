"""Changing customers in the admin API: one customer's profile and tags, bulk actions.

A bulk action runs in the request when the selection is small
(`bulk.runs_inline`), otherwise as a background job whose id it answers.
"""

import datetime as dt

import strawberry
from strawberry.types import Info

from backend.domain import bulk, customers, discounts, jobs
from backend.domain import models as m
from backend.domain.clock import business_date
from backend.domain.tasks import enqueue_after_commit
from backend.graphql.customers.types import Customer
from backend.graphql.permissions import allow
from backend.graphql.scalars import DiscountKind, to_domain


@strawberry.input
class UpdateCustomerInput:
    phone: str | None = None
    birthday: dt.date | None = None
    note: str | None = None
    clear_phone: bool = False
    clear_birthday: bool = False
    clear_note: bool = False
    add_tags: list[str] = strawberry.field(default_factory=list)
    remove_tags: list[str] = strawberry.field(default_factory=list)


@strawberry.input(description="Either explicit customer ids or a segment.")
class CustomerSelection:
    ids: list[int] | None = None
    segment_id: int | None = None


@strawberry.type(description="A bulk action ran now (affected) or in the background (job).")
class BulkResult:
    affected: int
    job_id: str | None


@strawberry.type
class CustomerMutations:
    @strawberry.mutation(permission_classes=allow("Mutation.updateCustomer"))
    async def update_customer(self, info: Info, id: int, input: UpdateCustomerInput) -> Customer:
        actor = await info.context.actor()
        today = business_date(info.context.now(), info.context.settings.zone)
        async with info.context.transaction() as session:
            changes = customers.ProfileChanges(
                phone=input.phone,
                birthday=input.birthday,
                note=input.note,
                clear_phone=input.clear_phone,
                clear_birthday=input.clear_birthday,
                clear_note=input.clear_note,
            )
            customer = await customers.update_profile(
                session, id, changes, actor=actor, today=today
            )
            if input.add_tags or input.remove_tags:
                customer = await customers.change_tags(
                    session, id, add=input.add_tags, remove=input.remove_tags, actor=actor
                )
        return Customer.of(customer)

    @strawberry.mutation(permission_classes=allow("Mutation.bulkTagCustomers"))
    async def bulk_tag_customers(
        self,
        info: Info,
        selection: CustomerSelection,
        add: list[str] | None = None,
        remove: list[str] | None = None,
    ) -> BulkResult:
        actor = await info.context.actor()
        async with info.context.transaction() as session:
            ids = await bulk.select_customers(
                session,
                customer_ids=selection.ids,
                segment_id=selection.segment_id,
                now=info.context.now(),
            )
            if await bulk.runs_inline(session, len(ids)):
                affected = await bulk.tag_customers(
                    session, ids, add=add or [], remove=remove or [], actor=actor
                )
                return BulkResult(affected=affected, job_id=None)
            job = await jobs.create(
                session, "bulk_add_tags", len(ids), admin_id=actor.id, now=info.context.now()
            )
            enqueue_after_commit(
                session,
                "bulk_add_tags",
                customer_ids=ids,
                add=add or [],
                remove=remove or [],
                admin_id=actor.id,
                job_id=job.key,
            )
        return BulkResult(affected=len(ids), job_id=job.key)

    @strawberry.mutation(permission_classes=allow("Mutation.bulkIssueDiscount"))
    async def bulk_issue_discount(
        self,
        info: Info,
        selection: CustomerSelection,
        kind: DiscountKind,
        reason: str,
        percent: int | None = None,
        valid_days: int | None = None,
    ) -> BulkResult:
        actor = await info.context.actor()
        now = info.context.now()
        request = discounts.IssueRequest(
            to_domain(m.DiscountKind, kind), percent=percent, valid_days=valid_days, reason=reason
        )
        async with info.context.transaction() as session:
            ids = await bulk.select_customers(
                session, customer_ids=selection.ids, segment_id=selection.segment_id, now=now
            )
            inline = await bulk.runs_inline(session, len(ids))
            if inline:
                affected = await bulk.issue_to_customers(
                    session, ids, request, actor=actor, now=now
                )
                # Once committed, the notices go at once, at the broadcasts' shared rate.
                enqueue_after_commit(session, "deliver_due_notifications")
            else:
                job = await jobs.create(
                    session, "bulk_issue_discount", len(ids), admin_id=actor.id, now=now
                )
                enqueue_after_commit(
                    session,
                    "bulk_issue_discount",
                    customer_ids=ids,
                    kind=request.kind.value,
                    reason=reason,
                    percent=percent,
                    valid_days=valid_days,
                    admin_id=actor.id,
                    job_id=job.key,
                )
        if inline:
            return BulkResult(affected=affected, job_id=None)
        return BulkResult(affected=len(ids), job_id=job.key)
