"""When an import counts as a bulk load: big on its own and at least twice the table."""

from tasks.imports.ledger_store import BULK_LOAD_MIN_ROWS, is_bulk_load


def test_a_first_load_of_a_big_file_is_a_bulk_load() -> None:
    assert is_bulk_load(BULK_LOAD_MIN_ROWS, 0)
    assert is_bulk_load(3_000_000, 0)


def test_a_file_at_least_twice_the_table_is_a_bulk_load() -> None:
    assert is_bulk_load(2_000_000, 1_000_000)
    assert not is_bulk_load(1_999_999, 1_000_000)


def test_the_same_file_imported_again_is_not_a_bulk_load() -> None:
    assert not is_bulk_load(1_000_000, 1_000_000)


def test_a_small_file_never_is_even_into_an_empty_table() -> None:
    assert not is_bulk_load(BULK_LOAD_MIN_ROWS - 1, 0)
    assert not is_bulk_load(50, 0, min_rows=100)
    assert is_bulk_load(100, 0, min_rows=100)
