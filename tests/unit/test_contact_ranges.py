"""Splitting contact ids into shard ranges."""

import pytest

from tasks.scoring.ranges import EVERY_CONTACT, ContactRange, split_ids


def owners(ids: list[int], ranges: list[ContactRange]) -> list[int]:
    """How many ranges hold each id."""
    return [sum(r.holds(i) for r in ranges) for i in ids]


def test_ids_with_gaps_split_into_ranges_of_about_equal_size_covering_each_id_once() -> None:
    ids = [*range(1, 101), *range(10_000, 10_300)]
    ranges = split_ids(ids, 4)
    assert len(ranges) == 4
    assert owners(ids, ranges) == [1] * len(ids)
    assert [sum(r.holds(i) for i in ids) for r in ranges] == [100, 100, 100, 100]


def test_the_outer_ranges_are_open_so_contacts_created_later_still_belong_to_one() -> None:
    ranges = split_ids(list(range(10, 20)), 3)
    assert ranges[0].start is None and ranges[-1].stop is None
    assert owners([0, 10_000], ranges) == [1, 1]


def test_fewer_ids_than_shards_give_fewer_ranges_and_no_ids_one_range() -> None:
    assert len(split_ids([7, 8], 4)) == 2
    assert split_ids([7], 4) == [EVERY_CONTACT]
    assert split_ids([], 4) == [EVERY_CONTACT]


def test_zero_shards_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        split_ids([1, 2], 0)
