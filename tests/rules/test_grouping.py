"""The guide's grouping: one ticket per reason and solution, in the order of the lines."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from claimdesk.rules.catalogue import Reason, Solution
from claimdesk.rules.grouping import Group, group_lines


def test_one_damaged_and_two_missing_are_two_tickets() -> None:
    keys = [("damaged", "rework"), ("missing", "credit"), ("missing", "credit")]
    assert group_lines(keys) == [Group(("damaged", "rework"), (0,)), Group(("missing", "credit"), (1, 2))]


def test_same_reason_other_solution_is_another_ticket() -> None:
    keys = [("missing", "credit"), ("missing", "rework"), ("missing", "credit")]
    assert group_lines(keys) == [Group(("missing", "credit"), (0, 2)), Group(("missing", "rework"), (1,))]


def test_nothing_is_no_ticket() -> None:
    assert group_lines([]) == []


pairs = st.tuples(st.sampled_from(list(Reason)), st.sampled_from(list(Solution)))


@settings(max_examples=200, derandomize=True, database=None, deadline=None)
@given(st.lists(pairs, max_size=30))
def test_every_line_in_exactly_one_group_of_its_key(keys: list[tuple[Reason, Solution]]) -> None:
    groups = group_lines(keys)
    placed = sorted(line for group in groups for line in group.lines)
    assert placed == list(range(len(keys)))  # each line once
    assert len({group.key for group in groups}) == len(groups) == len(set(keys))  # one group per key
    for group in groups:
        assert all(keys[line] == group.key for line in group.lines)
        assert list(group.lines) == sorted(group.lines)  # lines keep their order
    firsts = [group.lines[0] for group in groups]
    assert firsts == sorted(firsts)  # groups come in the order their key first appears
