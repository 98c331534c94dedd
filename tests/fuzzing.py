"""What both schemathesis fuzz tests (GraphQL and REST) do alike: list operations, draw cases.

Cases are drawn up front with hypothesis (generation only, a fixed seed) and
sent by the test itself over its own async client: schemathesis's transport
is blocking, and a fixed seed makes a failure repeat run after run.
"""

from __future__ import annotations

from typing import Any, TypeVar

from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st
from schemathesis.core.result import Ok
from schemathesis.schemas import APIOperation, BaseSchema

T = TypeVar("T")


def operations_of(schema: BaseSchema) -> list[APIOperation[Any, Any, Any, Any]]:
    """Every operation of the schema; one it cannot read is a failure, not a skip."""
    found = []
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), result
        found.append(result.ok())
    return found


def draw(strategy: st.SearchStrategy[T], count: int, seed_value: int) -> list[T]:
    """Up to `count` examples of `strategy`, the same ones every run for this seed."""
    drawn: list[T] = []

    @seed(seed_value)
    @settings(
        max_examples=count,
        database=None,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(example=strategy)
    def collect(example: T) -> None:
        drawn.append(example)

    collect()
    return drawn
