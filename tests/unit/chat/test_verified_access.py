"""The access rule of verified answers: never wider than the passages or the asker allow."""

import pytest

from app.chat.verified_access import AccessBounds, check_requested, default_access
from app.errors import InvalidInput


def bounds(*passages: set[str], asker: set[str], missing: int = 0) -> AccessBounds:
    return AccessBounds(
        passages=tuple(frozenset(p) for p in passages),
        missing=missing,
        asker=frozenset({"everyone", *asker}),
    )


def test_default_is_the_groups_that_read_every_passage_and_the_asker_holds() -> None:
    assert default_access(bounds({"hr"}, {"everyone"}, asker={"hr"})) == ["hr"]
    assert default_access(bounds({"hr", "legal"}, {"hr", "it"}, asker={"hr", "it"})) == ["hr"]
    assert default_access(bounds({"hr", "legal"}, asker={"hr"})) == ["hr"]  # not legal
    assert default_access(bounds({"everyone"}, {"everyone"}, asker=set())) == ["everyone"]


def test_without_passages_the_default_is_the_askers_own_groups() -> None:
    assert default_access(bounds(asker={"hr", "it"})) == ["hr", "it"]
    assert default_access(bounds(asker=set())) == ["everyone"]


@pytest.mark.parametrize(
    "case",
    [
        bounds({"hr"}, {"finance"}, asker={"hr", "finance"}),  # no group reads both
        bounds({"hr"}, asker={"hr"}, missing=1),  # a passage changed since
    ],
)
def test_no_safe_default_asks_for_groups(case: AccessBounds) -> None:
    with pytest.raises(InvalidInput) as error:
        default_access(case)
    assert error.value.field == "groups"


def test_requested_groups_may_narrow_but_not_widen() -> None:
    rule = bounds({"hr", "legal"}, {"everyone"}, asker={"hr", "legal", "it"})
    assert check_requested(rule, ["legal"]) == ["legal"]
    for wider in (["it"], ["everyone"], ["hr", "finance"]):
        with pytest.raises(InvalidInput):
            check_requested(rule, wider)
    public = bounds({"everyone"}, asker={"hr"})
    assert check_requested(public, ["hr", "everyone"]) == ["everyone"]
    with pytest.raises(InvalidInput):
        check_requested(public, ["finance"])  # the asker does not hold it
