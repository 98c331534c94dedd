"""No silent breaking changes to the admin GraphQL API (issue 17): the rules, as functions.

The SPA is built against a released schema: frontend-contract/schema.released.graphql,
whose first line names its version (`# Released as 1.0.0 on 2026-12-07`) and whose
rest is schema.graphql as it was on that day. CHANGELOG.md has an entry per release,
newest first, each recording the sha256 of that rest (`Schema: sha256:<hex>`), so the
released copy cannot change without a changelog entry that says so.

Between releases the API may grow: new types, fields and queries break no SPA build.
Whatever else graphql-core finds between the released schema and the current one must
be released first. Breaking changes make SPA builds against the release fail (a field
or enum value removed or renamed, an argument made required); dangerous ones may make
them misbehave (an enum value or union member they have never seen, a changed default,
and to graphql-core also a new optional argument or input field). A release with
breaking changes is a new major version. Once the released copy is replaced, the old
schema is gone, so the entry itself says so: a `### Breaking` section, which the rules
accept only on a new major version.

Every function here works on text, so tests can try the rules on edited copies.
"""

from __future__ import annotations

import hashlib
import itertools
import re
import textwrap
from dataclasses import dataclass

from graphql import build_schema, find_breaking_changes, find_dangerous_changes

RELEASED_PATH = "frontend-contract/schema.released.graphql"
HEADER = re.compile(r"# Released as (\d+\.\d+\.\d+) on (\d{4}-\d{2}-\d{2})")
ENTRY = re.compile(r"^## \[(?P<name>[^\]]+)\](?: - (?P<date>\S+))?[ \t]*$", re.MULTILINE)
SCHEMA_LINE = re.compile(r"^Schema: sha256:([0-9a-f]{64})[ \t]*$", re.MULTILINE)
BREAKING = re.compile(r"^### Breaking[ \t]*$", re.MULTILINE)
VERSION = re.compile(r"(\d+)\.(\d+)\.(\d+)")
DATE = re.compile(r"\d{4}-\d{2}-\d{2}")

Version = tuple[int, int, int]


def parse_version(text: str) -> Version | None:
    match = VERSION.fullmatch(text)
    if match is None:
        return None
    major, minor, patch = (int(part) for part in match.groups())
    return major, minor, patch


def sha256_of(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


# --- The released schema --------------------------------------------------------------------


def schema_body(released: str) -> str:
    """The released file without its version line: schema.graphql as it was released."""
    return released.partition("\n")[2]


def released_version(released: str) -> Version | None:
    """The version the released file's first line names, if it names one."""
    header = HEADER.fullmatch(released.partition("\n")[0])
    return parse_version(header[1]) if header else None


# --- What changed since the release ---------------------------------------------------------


@dataclass(frozen=True)
class SchemaChanges:
    """graphql-core's descriptions of what can break SPA builds against the old schema."""

    breaking: list[str]
    dangerous: list[str]

    def __bool__(self) -> bool:
        return bool(self.breaking or self.dangerous)


def schema_changes(old_sdl: str, new_sdl: str) -> SchemaChanges:
    old, new = build_schema(old_sdl), build_schema(new_sdl)
    return SchemaChanges(
        breaking=[change.description for change in find_breaking_changes(old, new)],
        dangerous=[change.description for change in find_dangerous_changes(old, new)],
    )


def next_version(released: Version, changes: SchemaChanges) -> str:
    """A new major version for breaking changes, a new minor one for dangerous ones."""
    major, minor, _ = released
    return f"{major + 1}.0.0" if changes.breaking else f"{major}.{minor + 1}.0"


def changelog_entry(version: str, day: str, schema: str, changes: SchemaChanges) -> str:
    """The CHANGELOG.md entry that releases `schema` (schema.graphql's text) with `changes`."""
    lines = [f"## [{version}] - {day}", "", f"Schema: sha256:{sha256_of(schema)}"]
    for heading, items in (("Breaking", changes.breaking), ("Changed", changes.dangerous)):
        if items:
            lines += ["", f"### {heading}", "", *(f"- {item}" for item in items)]
    return "\n".join(lines)


def listing(changes: SchemaChanges) -> list[str]:
    lines = []
    for heading, items in (
        ("Breaking (SPA builds against the release fail):", changes.breaking),
        ("Dangerous (SPA builds against the release may misbehave):", changes.dangerous),
    ):
        if items:
            lines += [heading, *(f"  - {item}" for item in items)]
    return lines


def announcement(changes: SchemaChanges, released: Version, schema: str, day: str) -> str:
    """Why the check failed, and the exact steps that announce the changes as a release."""
    old, new = ".".join(map(str, released)), next_version(released, changes)
    why = "breaking changes need a new major version" if changes.breaking else "a new minor one"
    entry = textwrap.indent(changelog_entry(new, day, schema, changes), " " * 7)
    copy = f'{{ echo "# Released as {new} on {day}"; cat schema.graphql; }} > {RELEASED_PATH}'
    return "\n".join(
        [
            "The GraphQL API changed in ways the admin SPA has not been told about.",
            f"Compared with the released schema {old} ({RELEASED_PATH}):",
            *listing(changes),
            "",
            "Not meant? Undo it: add the new name beside the old one and deprecate the old one",
            "(deprecation_reason=...) instead of renaming or removing it.",
            "",
            f"Meant? Announce it as release {new} in this same change:",
            f"  1. CHANGELOG.md: add this entry above '## [{old}]' ({why}):",
            "",
            entry,
            "",
            "  2. Refresh schema.graphql and copy it to the released file under its version line:",
            "       .venv/bin/dvorik export-schema > schema.graphql",
            f"       {copy}",
            "  3. Fix the operations in frontend-contract/ that use what changed, and tell the",
            "     front-end team. (frontend-contract/README.md, 'Keeping the contract honest')",
        ]
    )


# --- CHANGELOG.md and the released file agree -----------------------------------------------


@dataclass(frozen=True)
class Release:
    """One `## [X.Y.Z] - YYYY-MM-DD` entry of CHANGELOG.md."""

    name: str
    date: str | None
    schema_sha: str | None
    breaking: bool

    @property
    def version(self) -> Version | None:
        return parse_version(self.name)


def releases(changelog: str) -> list[Release]:
    """The changelog's entries in file order, newest first; [Unreleased] is not a release."""
    headings = list(ENTRY.finditer(changelog))
    ends = [heading.start() for heading in headings[1:]] + [len(changelog)]
    found = []
    for heading, end in zip(headings, ends, strict=True):
        if heading["name"].lower() == "unreleased":
            continue
        body = changelog[heading.end() : end]
        sha = SCHEMA_LINE.search(body)
        breaking = BREAKING.search(body) is not None
        found.append(Release(heading["name"], heading["date"], sha and sha[1], breaking))
    return found


def release_problems(changelog: str, released: str) -> list[str]:
    """What is wrong with CHANGELOG.md and the released file, each a sentence with its fix."""
    found = releases(changelog)
    if not found:
        return ["CHANGELOG.md has no release: add '## [1.0.0] - YYYY-MM-DD' with a Schema line"]
    return [*entry_problems(found), *order_problems(found), *released_problems(found[0], released)]


def entry_problems(found: list[Release]) -> list[str]:
    problems = []
    for release in found:
        if release.version is None:
            problems.append(f"CHANGELOG.md: [{release.name}] is not a version MAJOR.MINOR.PATCH")
        if release.date is None or not DATE.fullmatch(release.date):
            problems.append(f"CHANGELOG.md: [{release.name}] needs its date: ' - YYYY-MM-DD'")
        if release.schema_sha is None:
            problems.append(f"CHANGELOG.md: [{release.name}] has no 'Schema: sha256:<hex>' line")
    return problems


def order_problems(found: list[Release]) -> list[str]:
    """Versions increase towards the top, and a release with breaking changes is a major one."""
    problems = []
    for newer, older in itertools.pairwise(found):
        if newer.version is None or older.version is None:
            continue
        if newer.version <= older.version:
            problems.append(
                f"CHANGELOG.md lists [{newer.name}] above [{older.name}]: "
                "versions must increase towards the top (newest first)"
            )
        elif newer.breaking and newer.version[0] == older.version[0]:
            problems.append(
                f"CHANGELOG.md: [{newer.name}] has a '### Breaking' section, so it must be "
                f"a new major version ({older.version[0] + 1}.0.0), not a minor or patch one"
            )
    return problems


def released_problems(newest: Release, released: str) -> list[str]:
    """The released file is the newest release's schema, named as that release."""
    first_line = released.partition("\n")[0]
    header = HEADER.fullmatch(first_line)
    if header is None or (header[1], header[2]) != (newest.name, newest.date):
        return [
            f"{RELEASED_PATH} starts with {first_line!r}, but the newest release in "
            f"CHANGELOG.md is [{newest.name}] of {newest.date}: its first line must be "
            f"'# Released as {newest.name} on {newest.date}'"
        ]
    actual = sha256_of(schema_body(released))
    if newest.schema_sha != actual:
        return [
            f"{RELEASED_PATH} is not the schema CHANGELOG.md's [{newest.name}] released "
            f"(its sha256 is {actual}, the entry records {newest.schema_sha}): "
            "restore the file, or release the new schema as a new version in CHANGELOG.md"
        ]
    return []
