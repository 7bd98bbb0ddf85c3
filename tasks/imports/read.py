"""Read beat of `leadflow import`: a CSV file → text frames that remember each row's line.

The encoding is decided once for the whole file (`sniff_text`). Bytes the chosen
encoding cannot decode are kept as surrogate escapes, so the row that holds them can be
quarantined by line instead of the read failing. Every physical row is accounted for:
it is yielded as a record or as a quarantine record (wrong field count, all cells blank,
an unclosed quote, unreadable CSV); only empty lines are skipped.
"""

import codecs
import csv
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import IO

import pandas as pd

from tasks.imports.columns import QUARANTINE_COLUMNS, WHOLE_ROW, ImportFileError, Layout, printable
from tasks.imports.records import BLOCK, FIELD_LIMIT, Lines, Records, careful_record

FAST_LINES = 20_000  # lines the block path parses at once
VALUE_LIMIT = 500
UTF8 = "utf-8-sig"  # also reads files without a BOM
_SURROGATE = re.compile("[\udc80-\udcff]")
_NON_ASCII_RUN = re.compile("[^\x00-\x7f]{2}")


@dataclass(frozen=True)
class FileText:
    """How to decode a file, and whether its cells may hold what a database cannot store."""

    encoding: str
    undecodable: bool = False
    nul: bool = False


def choose_encoding(
    *, bom: bool, utf8_bad: int, utf8_good: int, cp932_clean: bool, cp932_runs: bool
) -> str:
    """UTF-8 unless the bytes look like Shift_JIS (cp932) as Excel in Japan saves it.

    cp932 needs all of: no BOM, more invalid UTF-8 bytes than valid multi-byte UTF-8
    characters, a clean cp932 decode, and a run of two non-ASCII cp932 characters (real
    Japanese text). A UTF-8 file with a few stray bytes thus stays UTF-8.
    """
    if bom or not utf8_bad:
        return UTF8
    if cp932_clean and cp932_runs and utf8_bad > utf8_good:
        return "cp932"
    return UTF8


def sniff_text(path: Path) -> FileText:
    """Decide the encoding of the whole file (not just its head) and look for NUL bytes."""
    with path.open("rb") as handle:
        bom = handle.read(3) == codecs.BOM_UTF8
        handle.seek(0)
        decoder = codecs.getincrementaldecoder("utf-8")()
        nul = False
        try:
            for block in iter(partial(handle.read, BLOCK), b""):
                nul = nul or b"\x00" in block
                decoder.decode(block)
            decoder.decode(b"", final=True)
            return FileText(UTF8, nul=nul)
        except UnicodeDecodeError:
            handle.seek(0)
        utf8 = codecs.getincrementaldecoder("utf-8")("surrogateescape")
        cp932 = codecs.getincrementaldecoder("cp932")()
        bad = good = 0
        clean, runs = True, False
        for block in iter(partial(handle.read, BLOCK), b""):
            nul = nul or b"\x00" in block
            text = utf8.decode(block)
            invalid = len(_SURROGATE.findall(text))
            bad += invalid
            good += len(text) - len(text.encode("ascii", "ignore")) - invalid
            if clean:
                try:
                    runs = runs or bool(_NON_ASCII_RUN.search(cp932.decode(block)))
                except UnicodeDecodeError:
                    clean = False
    encoding = choose_encoding(
        bom=bom, utf8_bad=bad, utf8_good=good, cp932_clean=clean, cp932_runs=runs
    )
    return FileText(encoding, undecodable=encoding == UTF8, nul=nul)


def _check_file(path: Path, source: str) -> None:
    if not path.exists():
        raise ImportFileError(f"{source}: no such file")
    if not path.is_file():
        raise ImportFileError(f"{source}: not a file")


def _open(path: Path, text: FileText) -> IO[str]:
    return path.open(encoding=text.encoding, errors="surrogateescape", newline="")


def read_header(
    path: str | Path, *, source: str | None = None, text: FileText | None = None
) -> list[str]:
    """The header row of a CSV file (UTF-8, UTF-8 with BOM, or Shift_JIS)."""
    file = Path(path)
    shown = source or str(path)
    _check_file(file, shown)
    with _open(file, text or sniff_text(file)) as handle:
        reader = csv.reader(handle)
        try:
            for record in reader:
                if any(cell.strip() for cell in record):
                    return [printable(cell) for cell in record]
        except csv.Error as error:
            raise ImportFileError(f"{shown}: line {reader.line_num}: {error}") from error
    raise ImportFileError(f"{shown}: empty file, no header")


@dataclass(frozen=True)
class CsvChunk:
    """Consecutive records of a file as text, with the file line each record starts on."""

    frame: pd.DataFrame
    lines: pd.Series
    malformed: pd.DataFrame
    text: FileText = FileText(UTF8)

    @property
    def rows(self) -> int:
        """Data records read, well-formed or not."""
        return len(self.frame) + len(self.malformed)


def iter_csv_chunks(
    path: str | Path,
    *,
    layout: Layout,
    chunk_rows: int | None = None,
    text: FileText | None = None,
) -> Iterator[CsvChunk]:
    """Yield the file's records as text frames of `layout`'s columns, `chunk_rows` at a time.

    Empty lines are skipped. A record with a different number of fields than the header
    and a row whose cells are all blank become quarantine records (field `*`). A quoted
    cell may span lines, unless the quote looks unclosed: the file ends inside it, the
    record it makes has the wrong number of fields, or a line inside it reads as a whole
    row. Then only the line the quote opened on is quarantined, and the lines after it
    are read again as rows of their own. Line numbers count the header as line 1.
    Blocks of lines that are one record each are parsed in one go; the rest record by
    record. Memory holds one chunk.
    """
    file = Path(path)
    _check_file(file, layout.source)
    text = text or sniff_text(file)
    columns = list(layout.positions)
    positions = [layout.positions[c] for c in columns]
    limit = chunk_rows or math.inf
    csv.field_size_limit(FIELD_LIMIT)
    with _open(file, text) as handle:
        lines_in = Lines(handle)
        reader = csv.reader(lines_in)
        rows = Records()
        while True:
            if rows.width is None or lines_in.pushed_back:
                if not careful_record(reader, lines_in, rows, layout.source):
                    break
            else:
                room = limit - rows.count
                first, lines = lines_in.take(int(min(room, FAST_LINES)))
                if not lines:
                    break
                if not rows.add_lines(first, lines):
                    lines_in.read_again(list(enumerate(lines, start=first)))
            if rows.count >= limit:
                yield _chunk(columns, positions, rows.cells, rows.lines, rows.malformed, text)
                rows.clear()
        if rows.lines or rows.malformed or chunk_rows is None:
            yield _chunk(columns, positions, rows.cells, rows.lines, rows.malformed, text)


def _chunk(
    columns: list[str],
    positions: list[int],
    cells: list[list[str]],
    lines: list[int],
    malformed: list[tuple[int, str, str]],
    text: FileText,
) -> CsvChunk:
    frame = pd.DataFrame(
        {
            c: pd.Series(cells[p] if lines else [], dtype="str")
            for c, p in zip(columns, positions, strict=True)
        },
        index=pd.RangeIndex(len(lines)),
    )
    bad = pd.DataFrame(
        {
            "row_number": [m[0] for m in malformed],
            "field": WHOLE_ROW,
            "value": [m[1][:VALUE_LIMIT] for m in malformed],
            "reason": [m[2] for m in malformed],
        },
        columns=QUARANTINE_COLUMNS,
    )
    return CsvChunk(frame=frame, lines=pd.Series(lines, dtype="int64"), malformed=bad, text=text)
