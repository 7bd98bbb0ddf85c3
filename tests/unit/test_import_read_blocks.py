"""The reader's block path (whole blocks of one-line records) reads a file exactly as the
record-by-record path does: the same cells, line numbers and quarantined rows."""

from pathlib import Path

import pytest

from tasks.imports.columns import layout_for
from tasks.imports.read import CsvChunk, iter_csv_chunks, read_header

HEADER = "event_id,email,type,detail,occurred_at"


def read(tmp_path: Path, body: str, *, newline: str = "\n", chunk_rows: int = 4) -> list[CsvChunk]:
    path = tmp_path / "events.csv"
    path.write_bytes((HEADER + "\n" + body).replace("\n", newline).encode("utf-8"))
    layout = layout_for(read_header(path), kind="events", source="events.csv")
    return list(iter_csv_chunks(path, layout=layout, chunk_rows=chunk_rows))


def rows(chunks: list[CsvChunk]) -> list[tuple[int, list[str]]]:
    found = []
    for chunk in chunks:
        for line, (_, record) in zip(chunk.lines, chunk.frame.iterrows(), strict=True):
            found.append((int(line), [str(v) for v in record]))
    return found


def bad(chunks: list[CsvChunk]) -> list[tuple[int, str]]:
    return [
        (int(n), str(reason))
        for chunk in chunks
        for n, reason in zip(chunk.malformed["row_number"], chunk.malformed["reason"], strict=True)
    ]


BODY = "".join(f"e{n},a{n}@x.jp,page_view,pricing,2026-03-05T10:00:00Z\n" for n in range(10))


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_plain_blocks_keep_every_cell_and_line_and_chunks_hold_at_most_chunk_rows(
    tmp_path: Path, newline: str
) -> None:
    chunks = read(tmp_path, BODY, newline=newline)
    assert [c.rows for c in chunks] == [4, 4, 2]
    found = rows(chunks)
    assert [line for line, _ in found] == list(range(2, 12))
    assert found[3][1] == ["e3", "a3@x.jp", "page_view", "pricing", "2026-03-05T10:00:00Z"]


def test_blank_short_and_empty_lines_inside_a_block_are_reported_by_line(tmp_path: Path) -> None:
    body = BODY.replace("e2,a2@x.jp,page_view,pricing,2026-03-05T10:00:00Z", " , ,,,")
    body = body.replace("e5,a5@x.jp,page_view,pricing,2026-03-05T10:00:00Z\n", "e5,a5\n\n")
    chunks = read(tmp_path, body, chunk_rows=100)
    assert bad(chunks) == [
        (4, "blank row: every cell is empty"),
        (7, "has 2 fields, the header has 5"),
    ]
    # The empty line 8 is skipped; the next row is on line 9.
    assert [line for line, _ in rows(chunks)][3:6] == [6, 9, 10]


def test_lines_ended_by_a_lone_carriage_return_are_rows_of_their_own(tmp_path: Path) -> None:
    chunks = read(tmp_path, BODY.replace("e4,a4@x.jp", ",,,,\re4,a4@x.jp"), chunk_rows=100)
    assert bad(chunks) == [(6, "blank row: every cell is empty")]
    assert len(rows(chunks)) == 10


def test_an_unclosed_quote_in_a_block_quarantines_its_line_and_rereads_the_rest(
    tmp_path: Path,
) -> None:
    body = BODY.replace("e3,a3@x.jp,page_view,pricing", 'e3,a3@x.jp,page_view,"pricing')
    chunks = read(tmp_path, body, chunk_rows=100)
    ((line, reason),) = bad(chunks)
    assert line == 5 and reason.startswith("unclosed quote: the quote opened on line 5")
    assert [n for n, _ in rows(chunks)] == [2, 3, 4, 6, 7, 8, 9, 10, 11]
