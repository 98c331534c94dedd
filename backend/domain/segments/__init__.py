"""Segments: named audiences a marketer defines once and targets broadcasts at.

- `rules`: what a segment's rules may say (`SegmentRules`, `parse_rules`):
  anything stored or used goes through them first;
- `members`: who is in, asked of the whole base in SQL (also the conditions
  customer search reuses);
- `matching`: whether one customer is in, the same rules in plain Python
  (the property test keeps the two in agreement);
- `stored`: the segments themselves, created, edited and deleted with an
  audit line.
"""

from backend.domain.segments.matching import CustomerFacts, matches
from backend.domain.segments.members import (
    RuleTags,
    conditions,
    count_members,
    count_query,
    listing_tags,
    look_up_tags,
    members_query,
    page_members,
    tags_are_common,
)
from backend.domain.segments.rules import SegmentRules, parse_rules
from backend.domain.segments.stored import (
    by_ids,
    create,
    delete,
    find,
    get,
    list_all,
    snapshot,
    update,
)

__all__ = [
    "CustomerFacts",
    "RuleTags",
    "SegmentRules",
    "by_ids",
    "conditions",
    "count_members",
    "count_query",
    "create",
    "delete",
    "find",
    "get",
    "list_all",
    "listing_tags",
    "look_up_tags",
    "matches",
    "members_query",
    "page_members",
    "parse_rules",
    "snapshot",
    "tags_are_common",
    "update",
]
