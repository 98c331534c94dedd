"""Marketers build segments over the API and see who is in them, live."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.domain.models import AdminRole, AuditEntry, CustomerStatus, Segment
from tests.api import GraphQLClient
from tests.factories import make_customer

SEGMENT_FIELDS = "id name description rules count preview(first: 2) { id firstName tags }"
CREATE = f"""
mutation($name: String!, $rules: JSON!, $description: String) {{
  createSegment(name: $name, rules: $rules, description: $description) {{ {SEGMENT_FIELDS} }}
}}
"""
UPDATE = f"""
mutation($id: Int!, $name: String, $rules: JSON, $description: String) {{
  updateSegment(id: $id, name: $name, rules: $rules, description: $description) {{
    {SEGMENT_FIELDS}
  }}
}}
"""
DELETE = "mutation($id: Int!) { deleteSegment(id: $id) }"
ONE = f"query($id: Int!) {{ segment(id: $id) {{ {SEGMENT_FIELDS} }} }}"
ALL = "{ segments { id name count } }"
PREVIEW = """
query($rules: JSON!, $first: Int) {
  previewSegment(rules: $rules, first: $first) { count sample { id firstName } }
}
"""
VIP = {"tags_any": ["VIP"], "status": ["active"]}


async def _saved_segments(sessions: async_sessionmaker[AsyncSession]) -> int:
    async with sessions() as session:
        return await session.scalar(select(func.count(Segment.id))) or 0


async def _audit_lines(sessions: async_sessionmaker[AsyncSession]) -> list[str]:
    async with sessions() as session:
        return list(await session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))


async def test_marketer_builds_a_segment_and_sees_its_live_count_and_preview(
    staff: dict[AdminRole, GraphQLClient], sessions: async_sessionmaker[AsyncSession]
) -> None:
    async with sessions() as session, session.begin():
        vips = [
            await make_customer(session, tags=["vip"], first_name=name)
            for name in ("Маша", "Даша", "Саша")
        ]
        await make_customer(session, tags=["vip"], status=CustomerStatus.UNSUBSCRIBED)
        await make_customer(session, tags=["new"])
    marketer = staff[AdminRole.MARKETING]

    preview = await marketer(PREVIEW, rules=VIP, first=2)
    assert preview.data["previewSegment"] == {
        "count": 3,
        "sample": [
            {"id": vips[0].id, "firstName": "Маша"},
            {"id": vips[1].id, "firstName": "Даша"},
        ],
    }
    assert await _saved_segments(sessions) == 0, "a preview saves nothing"

    created = await marketer(CREATE, name="  Постоянные  ", rules=VIP, description="VIP")
    segment = created.data["createSegment"]
    assert segment["name"] == "Постоянные"
    assert segment["rules"] == {"tags_any": ["vip"], "status": ["active"]}, "stored cleaned"
    assert segment["count"] == 3
    assert [customer["id"] for customer in segment["preview"]] == [vips[0].id, vips[1].id]
    assert segment["preview"][0]["tags"] == ["vip"]

    async with sessions() as session, session.begin():
        await make_customer(session, tags=["vip"])
    again = await marketer(ONE, id=segment["id"])
    assert again.data["segment"]["count"] == 4, "the count is live, not stored"

    narrowed = await marketer(
        UPDATE, id=segment["id"], rules={**VIP, "tags_none": ["new"]}, description=""
    )
    assert narrowed.data["updateSegment"]["description"] is None
    assert narrowed.data["updateSegment"]["rules"]["tags_none"] == ["new"]
    listed = await marketer(ALL)
    assert listed.data["segments"] == [{"id": segment["id"], "name": "Постоянные", "count": 4}]

    assert (await marketer(DELETE, id=segment["id"])).data == {"deleteSegment": True}
    assert (await marketer(ONE, id=segment["id"])).data == {"segment": None}
    assert (await marketer(DELETE, id=segment["id"])).error_code == "NOT_FOUND"
    assert await _audit_lines(sessions) == ["segment.create", "segment.update", "segment.delete"]


async def test_invalid_rules_are_refused_and_nothing_is_saved(
    staff: dict[AdminRole, GraphQLClient], sessions: async_sessionmaker[AsyncSession]
) -> None:
    marketer = staff[AdminRole.MARKETING]
    bad_rules = [
        ({"tag": ["vip"]}, "tag"),
        ({"birthday_month": 13}, "birthday_month"),
        ({"last_seen_after": "2025-03-01T00:00:00"}, "last_seen_after"),
        ({"tags_any": ["vip"], "tags_none": ["vip"]}, "tags_none"),
        (["vip"], None),
    ]
    for rules, field in bad_rules:
        created = await marketer(CREATE, name="Сломанный", rules=rules)
        assert created.error_code == "INVALID_SEGMENT_RULES", rules
        assert created.body["errors"][0]["extensions"].get("field") == field
        assert created.body["data"] is None
        preview = await marketer(PREVIEW, rules=rules)
        assert preview.error_code == "INVALID_SEGMENT_RULES", rules

    assert await _saved_segments(sessions) == 0
    assert await _audit_lines(sessions) == []

    kept = (await marketer(CREATE, name="Весна", rules={"birthday_month": 3})).data
    segment_id = kept["createSegment"]["id"]
    broken = await marketer(UPDATE, id=segment_id, name="Лето", rules={"birthday_month": 0})
    assert broken.error_code == "INVALID_SEGMENT_RULES"
    unchanged = (await marketer(ONE, id=segment_id)).data["segment"]
    assert (unchanged["name"], unchanged["rules"]) == ("Весна", {"birthday_month": 3})


async def test_names_are_unique_and_page_sizes_bounded(
    staff: dict[AdminRole, GraphQLClient],
) -> None:
    marketer = staff[AdminRole.MARKETING]
    await marketer(CREATE, name="Весна", rules={})

    assert (await marketer(CREATE, name="Весна", rules={})).error_code == "CONFLICT"
    assert (await marketer(CREATE, name="   ", rules={})).error_code == "VALIDATION"
    assert (await marketer(PREVIEW, rules={}, first=500)).error_code == "VALIDATION"
    assert (await marketer(PREVIEW, rules={}, first=0)).error_code == "VALIDATION"


async def test_readonly_reads_segments_but_cannot_change_them(
    staff: dict[AdminRole, GraphQLClient], graphql: GraphQLClient
) -> None:
    created = await staff[AdminRole.MARKETING](CREATE, name="Весна", rules={"birthday_month": 3})
    segment_id = created.data["createSegment"]["id"]
    readonly = staff[AdminRole.READONLY]

    assert (await readonly(ALL)).data["segments"][0]["name"] == "Весна"
    assert (await readonly(ONE, id=segment_id)).data["segment"]["count"] == 0
    assert (await readonly(PREVIEW, rules={})).data["previewSegment"]["count"] == 0
    refused = [
        await readonly(CREATE, name="Лето", rules={}),
        await readonly(UPDATE, id=segment_id, name="Лето"),
        await readonly(DELETE, id=segment_id),
    ]
    assert [response.error_code for response in refused] == ["FORBIDDEN"] * 3
    assert (await readonly(ONE, id=segment_id)).data["segment"]["name"] == "Весна"
    assert (await graphql(ALL)).error_code == "UNAUTHENTICATED"
