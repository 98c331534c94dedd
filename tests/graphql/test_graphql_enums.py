"""The API's enums are its own (`backend.graphql.scalars`), mapped to the domain's by value.

Renaming a member of a domain enum must not rename it in the schema, and adding
or dropping one must be a decision about the API: these tests fail until the
API enum and its mapping say what the public name is.
"""

from enum import Enum, StrEnum

import pytest
import strawberry

from backend.domain import models
from backend.graphql import scalars
from backend.graphql.mapping import copied
from backend.graphql.scalars import DOMAIN_ENUMS, to_api, to_domain


@pytest.mark.parametrize("api_enum", list(DOMAIN_ENUMS), ids=lambda enum: enum.__name__)
def test_every_member_has_its_counterpart_both_ways(api_enum: type[Enum]) -> None:
    domain_enum = DOMAIN_ENUMS[api_enum]
    for member in domain_enum:
        assert to_domain(domain_enum, to_api(api_enum, member)) is member
    for api_member in api_enum:
        assert to_api(api_enum, to_domain(domain_enum, api_member)) is api_member


@pytest.mark.parametrize("api_enum", list(DOMAIN_ENUMS), ids=lambda enum: enum.__name__)
def test_the_api_enum_is_not_the_domain_enum(api_enum: type[Enum]) -> None:
    assert not issubclass(api_enum, StrEnum)  # never equal to a stored string by accident
    assert api_enum.__name__ == DOMAIN_ENUMS[api_enum].__name__


def test_every_enum_of_the_models_is_shown_by_one_api_enum() -> None:
    exported = {
        value
        for value in vars(models).values()
        if isinstance(value, type) and issubclass(value, StrEnum)
    }
    assert exported == set(DOMAIN_ENUMS.values())


def test_a_member_of_another_enum_is_refused() -> None:
    with pytest.raises(TypeError, match="DiscountKind does not show DiscountStatus"):
        to_api(scalars.DiscountKind, models.DiscountStatus.ACTIVE)
    with pytest.raises(TypeError, match="DiscountStatus does not show DiscountKind"):
        to_domain(models.DiscountKind, scalars.DiscountStatus.ACTIVE)
    assert to_api(scalars.DiscountKind, None) is None
    assert to_domain(models.DiscountKind, None) is None


def test_a_domain_enum_is_never_copied_into_a_type_as_it_is() -> None:
    @strawberry.type
    class Shown:
        kind: scalars.DiscountKind

    class Row:
        kind = models.DiscountKind.PROMO

    with pytest.raises(TypeError, match=r"Shown\.kind is a domain enum"):
        copied(Shown, Row())
    shown = copied(Shown, Row(), kind=to_api(scalars.DiscountKind, Row.kind))
    assert shown.kind is scalars.DiscountKind.PROMO
