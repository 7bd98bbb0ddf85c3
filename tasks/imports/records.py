"""Records of a CSV file, read line by line or a block of lines at a time.

`Lines` numbers the file's physical lines and can read some again; `Records` collects a
chunk's cells column by column. Blocks whose every record is one line are taken whole
(`Records.add_lines`); anything else goes through `careful_record`, which follows
quotes across lines and quarantines an unclosed one by the line it opened on.
"""

import csv
import re
from collections import deque
from collections.abc import Iterator
from typing import IO

from tasks.imports.columns import ImportFileError

BLOCK = 1 << 20  # characters read from the file at a time
FIELD_LIMIT = 1 << 24


class Lines:
    """The file's physical lines for csv.reader, numbered; lines can be pushed back.

    Lines are read from the file a block at a time into `_ready`; `take` hands the
    fast path up to n of them, `__next__` (csv.reader's careful path) one at a time.
    """

    def __init__(self, handle: IO[str]) -> None:
        self._handle = handle
        self._again: deque[tuple[int, str]] = deque()
        self._ready: list[str] = []
        self._at = 0  # next unread position in _ready
        self._number = 0  # number of the last line handed out from the file
        self.taken: list[tuple[int, str]] = []

    def __iter__(self) -> "Lines":
        return self

    def __next__(self) -> str:
        if self._again:
            number, line = self._again.popleft()
        else:
            if self._at >= len(self._ready) and not self._fill():
                raise StopIteration
            line = self._ready[self._at]
            self._at += 1
            self._number += 1
            number = self._number
        self.taken.append((number, line))
        return line

    def _fill(self) -> bool:
        self._ready = self._handle.readlines(BLOCK)
        self._at = 0
        return bool(self._ready)

    @property
    def pushed_back(self) -> bool:
        """Lines were read again: the careful path must take them first."""
        return bool(self._again)

    def take(self, most: int) -> tuple[int, list[str]]:
        """Up to `most` next lines straight from the file, with the first one's number."""
        if self._at >= len(self._ready):
            self._fill()
        lines = self._ready[self._at : self._at + most]
        self._at += len(lines)
        first = self._number + 1
        self._number += len(lines)
        return first, lines

    def read_again(self, lines: list[tuple[int, str]]) -> None:
        self._again.extendleft(reversed(lines))


def _ends_inside_quote(taken: list[tuple[int, str]]) -> bool:
    try:
        for _ in csv.reader([line for _, line in taken], strict=True):
            pass
    except csv.Error as error:
        return "unexpected end of data" in str(error)
    return False


def _swallows_a_row(taken: list[tuple[int, str]], width: int | None) -> bool:
    # A line wholly inside a quoted cell that reads as a complete row of its own was
    # almost surely a row, swallowed by a stray quote.
    return any(len(next(csv.reader([line]), [])) == width for _, line in taken[1:-1])


def _unclosed(start: int, end: int) -> str:
    return (
        f"unclosed quote: the quote opened on line {start} runs to line {end}; line {start} "
        f"is quarantined and the lines after it are read as rows of their own"
    )


class Records:
    """Cells of the chunk being built, column by column, and the rows quarantined while
    reading. Column-wise, because millions of small row lists cost the garbage collector
    more than parsing them."""

    def __init__(self) -> None:
        self.width: int | None = None
        self.cells: list[list[str]] = []
        self.lines: list[int] = []
        self.malformed: list[tuple[int, str, str]] = []

    @property
    def count(self) -> int:
        return len(self.lines) + len(self.malformed)

    def clear(self) -> None:
        self.cells = [[] for _ in self.cells]
        self.lines, self.malformed = [], []

    def add(self, start: int, record: list[str]) -> None:
        """One record that started on line `start`."""
        if not record:
            return
        if not any(cell.strip() for cell in record):
            if self.width is not None:
                self.malformed.append((start, ",".join(record), "blank row: every cell is empty"))
        elif self.width is None:
            self.width = len(record)
            self.cells = [[] for _ in record]
        elif len(record) != self.width:
            self.malformed.append(
                (start, ",".join(record), f"has {len(record)} fields, the header has {self.width}")
            )
        else:
            for column, cell in zip(self.cells, record, strict=True):
                column.append(cell)
            self.lines.append(start)

    def _plain(self, first: int, text: str, lines: list[str]) -> bool:
        """Lines without quotes, each of `width` fields, none blank: split wholesale."""
        width = self.width or 0
        if '"' in text or _maybe_blank(text):
            return False
        if "\r" in text:
            # Lines ended by a lone CR would hide a blank row from the pattern.
            if text.count("\r") != text.count("\r\n"):
                return False
            text = text.replace("\r\n", "\n")
        if [line.count(",") for line in lines].count(width - 1) != len(lines):
            return False
        if len(text) > FIELD_LIMIT and max(map(len, lines)) > FIELD_LIMIT:
            return False  # csv.reader reports a cell over its limit
        flat = text[:-1] if text.endswith("\n") else text
        cells = flat.replace("\n", ",").split(",")
        for position, column in enumerate(self.cells):
            column.extend(cells[position::width])
        self.lines.extend(range(first, first + len(lines)))
        return True

    def add_lines(self, first: int, lines: list[str]) -> bool:
        """Read lines whose every record is one line; False (nothing taken) otherwise.

        Most blocks of a large file are like that: plain ones are split as one string,
        others parsed in one C-level call, and the records go in wholesale unless some
        line is odd (blank, wrong width).
        """
        text = "".join(lines)
        if self._plain(first, text, lines):
            return True
        try:
            records = list(csv.reader(lines, strict=True))
        except csv.Error:
            return False
        # Every record spans at least one line: as many records as lines means one each.
        if len(records) != len(lines):
            return False
        simple = (
            [len(r) for r in records].count(self.width or -1) == len(records)
            # Lines ended by a lone CR would hide a blank row from the pattern.
            and text.count("\r") == text.count("\r\n")
            # Not the empty "line" after the last newline.
            and not _MAYBE_BLANK.search(text, 0, len(text) - 1)
        )
        if simple:
            for column, values in zip(self.cells, zip(*records, strict=True), strict=True):
                column.extend(values)
            self.lines.extend(range(first, first + len(records)))
        else:
            for number, record in enumerate(records, start=first):
                self.add(number, record)
        return True


# A line of nothing but separators, quotes and white space may hold a blank row.
_MAYBE_BLANK = re.compile(r'^(?:[^\S\n]|[,"])*$', re.MULTILINE)


def _maybe_blank(text: str) -> bool:
    """Whether a line of `text`, which holds no quote, may be a blank row (its last
    character aside, as `_MAYBE_BLANK` is searched). Most blocks have no white space but
    line ends and no line starting with a separator: then none can, found by one split
    instead of the regex."""
    body = text[:-1]
    words = body.split()
    lines = body.count("\n") + 1
    if (
        len(words) == lines
        and len("".join(words)) == len(body) - lines + 1
        and not body.startswith(",")
        and "\n," not in body
    ):
        return False
    return _MAYBE_BLANK.search(text, 0, len(text) - 1) is not None


def careful_record(
    reader: Iterator[list[str]], lines_in: Lines, rows: Records, source: str
) -> bool:
    """Read one record the careful way (quotes across lines, CSV errors); False at the end."""
    lines_in.taken = []
    problem = ""
    try:
        record = next(reader)
    except StopIteration:
        return False
    except csv.Error as error:
        record, problem = [], str(error)
    taken = lines_in.taken
    start = taken[0][0]
    width = rows.width
    if len(taken) > 1 and (
        problem
        or len(record) != (width or len(record))
        or _ends_inside_quote(taken)
        or _swallows_a_row(taken, width)
    ):
        if width is None:
            raise ImportFileError(f"{source}: the header has an unclosed quote")
        first_line = taken[0][1].rstrip("\r\n")
        rows.malformed.append((start, first_line, _unclosed(start, taken[-1][0])))
        lines_in.read_again(taken[1:])
    elif problem:
        if width is None:
            raise ImportFileError(f"{source}: line {start}: {problem}")
        rows.malformed.append((start, taken[0][1], f"cannot be read as CSV: {problem}"))
    else:
        rows.add(start, record)
    return True
