"""CHANGELOG.md and the released schema keep each other honest.

The released copy of the schema cannot be replaced quietly: the newest release in
CHANGELOG.md must name it and record its sha256, versions grow towards the top, and a
release with breaking changes is a new major version. These scenarios try the rules
(tests/schema_releases.py) on small made-up histories; test_breaking_changes.py runs
them on the real files.
"""

from __future__ import annotations

from tests.schema_releases import release_problems, sha256_of

V1 = "type Query {\n  hello: String\n}\n"
V2 = "type Query {\n  hello: String\n  bye: String\n}\n"
V3 = "type Query {\n  bye: String\n}\n"
INTRO = "# Changelog\n\nReleases of the admin GraphQL API.\n\n## [Unreleased]\n\n"


def entry(version: str, day: str, schema: str, *sections: str) -> str:
    body = "".join(f"### {section}\n\n- something\n\n" for section in sections)
    return f"## [{version}] - {day}\n\nSchema: sha256:{sha256_of(schema)}\n\n{body}"


def released(version: str, day: str, schema: str) -> str:
    return f"# Released as {version} on {day}\n{schema}"


HISTORY = (
    INTRO
    + entry("2.0.0", "2026-12-20", V3, "Breaking")
    + entry("1.1.0", "2026-12-10", V2, "Added")
    + entry("1.0.0", "2026-12-07", V1, "Added")
)


def test_a_well_kept_history_passes() -> None:
    assert release_problems(HISTORY, released("2.0.0", "2026-12-20", V3)) == []


def test_the_released_copy_replaced_without_a_new_release_fails() -> None:
    problems = release_problems(HISTORY, released("2.0.0", "2026-12-20", V2))

    assert problems == [
        "frontend-contract/schema.released.graphql is not the schema CHANGELOG.md's [2.0.0] "
        f"released (its sha256 is {sha256_of(V2)}, the entry records {sha256_of(V3)}): "
        "restore the file, or release the new schema as a new version in CHANGELOG.md"
    ]


def test_the_released_copy_must_be_the_newest_release() -> None:
    problems = release_problems(HISTORY, released("1.1.0", "2026-12-10", V2))

    assert problems == [
        "frontend-contract/schema.released.graphql starts with "
        "'# Released as 1.1.0 on 2026-12-10', but the newest release in CHANGELOG.md is "
        "[2.0.0] of 2026-12-20: its first line must be '# Released as 2.0.0 on 2026-12-20'"
    ]


def test_a_released_copy_without_its_version_line_fails() -> None:
    problems = release_problems(HISTORY, V3)

    assert len(problems) == 1 and "starts with 'type Query {'" in problems[0]


def test_versions_grow_towards_the_top() -> None:
    shuffled = (
        INTRO
        + entry("1.1.0", "2026-12-10", V2, "Added")
        + entry("1.1.0", "2026-12-09", V2, "Added")
        + entry("1.2.0", "2026-12-08", V1, "Added")
    )

    problems = release_problems(shuffled, released("1.1.0", "2026-12-10", V2))

    assert problems == [
        "CHANGELOG.md lists [1.1.0] above [1.1.0]: "
        "versions must increase towards the top (newest first)",
        "CHANGELOG.md lists [1.1.0] above [1.2.0]: "
        "versions must increase towards the top (newest first)",
    ]


def test_a_release_with_breaking_changes_is_a_new_major_version() -> None:
    minor_but_breaking = (
        INTRO
        + entry("1.1.0", "2026-12-20", V3, "Breaking", "Added")
        + entry("1.0.0", "2026-12-07", V1, "Added")
    )

    problems = release_problems(minor_but_breaking, released("1.1.0", "2026-12-20", V3))

    assert problems == [
        "CHANGELOG.md: [1.1.0] has a '### Breaking' section, so it must be a new major "
        "version (2.0.0), not a minor or patch one"
    ]


def test_every_release_names_its_version_date_and_schema() -> None:
    sloppy = (
        INTRO + "## [next] - soon\n\n### Added\n\n- a field\n\n" + entry("1.0.0", "2026-12-07", V1)
    )

    problems = release_problems(sloppy, released("1.0.0", "2026-12-07", V1))

    assert problems[:3] == [  # and then: the released file is not that newest release
        "CHANGELOG.md: [next] is not a version MAJOR.MINOR.PATCH",
        "CHANGELOG.md: [next] needs its date: ' - YYYY-MM-DD'",
        "CHANGELOG.md: [next] has no 'Schema: sha256:<hex>' line",
    ]


def test_unreleased_notes_are_no_release() -> None:
    notes = INTRO + "### Added\n\n- Customer.nickname\n\n" + entry("1.0.0", "2026-12-07", V1)

    assert release_problems(notes, released("1.0.0", "2026-12-07", V1)) == []
    assert release_problems(INTRO, V1) == [
        "CHANGELOG.md has no release: add '## [1.0.0] - YYYY-MM-DD' with a Schema line"
    ]
