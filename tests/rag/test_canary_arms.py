"""``arm_of``: the one place that reads which arm (and release) answered from an answer record."""

from __future__ import annotations

from rag.canary.arms import ArmOf, arm_of


def _stored(alias: str | None, release: object = None, as_of: str | None = None) -> dict[str, object]:
    index: dict[str, object] = {"name": "policies", "alias": alias, "version": 3}
    if as_of is not None:
        index["as_of"] = as_of
    return {"index": index, "release": release}


def test_the_arm_is_read_from_the_alias_and_names_the_release() -> None:
    assert arm_of(_stored("policies", 4)) == ArmOf("policies", "live", 3, 4)
    # a canary release may run the live index version: the alias, not the version, says which arm
    assert arm_of(_stored("policies:canary", 5)) == ArmOf("policies", "canary", 3, 5)
    assert arm_of(_stored("policies")) == ArmOf("policies", "live", 3, None)  # recorded before releases
    assert arm_of(_stored("policies", True)) == ArmOf("policies", "live", 3, None)  # not a number


def test_pinned_and_as_of_answers_belong_to_no_arm() -> None:
    assert arm_of(_stored(None)) is None
    assert arm_of(_stored("policies", 4, as_of="2026-01-01T00:00:00Z")) is None
    assert arm_of(_stored("elsewhere", 4)) is None
