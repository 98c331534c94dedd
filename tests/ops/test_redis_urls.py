"""The Redis settings: the per-role fallback to REDIS_URL, and the Sentinel URL form.

A malformed URL is refused at start-up: `load_settings` names the variable in
one line, and `dvorik` prints that line (no traceback) and exits non-zero.
"""

from __future__ import annotations

import pytest

from backend.redis_roles import RedisRole, SentinelGroup, role_url, sentinel_group, urls_in_use
from backend.settings import ConfigurationError, Settings, load_settings
from tests.processes import dvorik, service_environment

ONE = "redis://shared:6379/0"


def test_each_role_falls_back_to_redis_url() -> None:
    settings = Settings(redis_url=ONE, redis_cache_url="redis://cache:6379/0", _env_file=None)
    assert role_url(settings, RedisRole.QUEUE) == role_url(settings, RedisRole.STATE) == ONE
    assert role_url(settings, RedisRole.CACHE) == "redis://cache:6379/0"
    assert urls_in_use(settings) == {
        ONE: [RedisRole.QUEUE, RedisRole.STATE],
        "redis://cache:6379/0": [RedisRole.CACHE],
    }
    embedded = Settings(_env_file=None)
    assert all(role_url(embedded, role) is None for role in RedisRole)
    assert urls_in_use(embedded) == {}


@pytest.mark.parametrize(
    ("url", "group"),
    [
        (
            "redis+sentinel://s1:26379,s2:26380/mymaster/3",
            SentinelGroup((("s1", 26379), ("s2", 26380)), "mymaster", 3),
        ),
        ("redis+sentinel://s1/shop", SentinelGroup((("s1", 26379),), "shop", 0)),
        ("redis+sentinel://[::1]:26379/shop/", SentinelGroup((("::1", 26379),), "shop", 0)),
        ("redis://localhost:6379/0", None),
    ],
)
def test_the_sentinel_form_names_sentinels_group_and_database(
    url: str, group: SentinelGroup | None
) -> None:
    assert sentinel_group(url) == group


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("redis+sentinel://s1:26379", "names its group"),
        ("redis+sentinel://s1:26379/shop/zero", "must be a number"),
        ("redis+sentinel://s1:26379/shop/0/1", "names its group"),
        ("redis+sentinel://s1:port/shop", "bad port"),
        ("redis+sentinel://:26379/shop", "without a host"),
        ("redis+sentinel://user:pw@s1:26379/shop", "not supported yet"),
        ("sentinel://s1:26379/shop", "must start with"),
    ],
)
def test_a_malformed_redis_url_is_named_in_one_line(
    monkeypatch: pytest.MonkeyPatch, url: str, says: str
) -> None:
    monkeypatch.setenv("REDIS_STATE_URL", url)
    with pytest.raises(ConfigurationError) as caught:
        load_settings()
    message = str(caught.value)
    assert message.startswith("REDIS_STATE_URL: ") and says in message, message
    assert "\n" not in message


def test_dvorik_prints_one_line_for_a_malformed_sentinel_url() -> None:
    env = service_environment(REDIS_URL="redis+sentinel://s1:26379")
    result = dvorik("worker", env=env)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr + result.stdout
    lines = [line for line in (result.stderr + result.stdout).splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].count("REDIS_URL") == 1, lines
