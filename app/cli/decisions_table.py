"""The dry-run decision table on stdout: what a run would apply, one row per decision.

`leadflow run … --dry-run` prints it after the counts; `backfill` and `simulate` can call
`print_decisions` with their hours' rows (which then carry an `as_of` column).
"""

from collections.abc import Mapping, Sequence

from rich import box
from rich.console import Console
from rich.table import Table

MAX_PRINTED = 200
NO_DECISIONS = "no decisions: nothing would change this hour"
# Piped or captured output has no terminal width: wide enough that a row stays on one
# line unless its detail is long (then the widest columns wrap).
PIPED_WIDTH = 200


def decisions_table(rows: Sequence[Mapping[str, object]]) -> Table:
    """The rows as a rich table: (hour,) step, contact, decision, detail."""
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    timed = any("as_of" in row for row in rows)
    if timed:
        table.add_column("hour (UTC)", no_wrap=True)
    table.add_column("step", no_wrap=True)
    table.add_column("contact", overflow="fold")
    table.add_column("decision", overflow="fold")
    table.add_column("detail", overflow="fold")
    for row in rows:
        cells = [_hour(row.get("as_of"))] if timed else []
        contact = row.get("contact") or f"contact {row.get('contact_id', '?')}"
        cells += [str(row.get("step", "")), str(contact), str(row.get("decision", "")),
                  str(row.get("detail", ""))]
        table.add_row(*cells)
    return table


def print_decisions(
    rows: Sequence[Mapping[str, object]],
    *,
    artifact: str | None = None,
    limit: int = MAX_PRINTED,
    nothing: str = NO_DECISIONS,
    console: Console | None = None,
) -> None:
    """Print a dry run's decisions as a table on stdout: the first `limit` rows, then how
    many more there are (and the artifact that lists them); or the line `nothing`."""
    out = console or _stdout()
    if not rows:
        out.print(nothing, markup=False, highlight=False)
        return
    out.print(decisions_table(rows[:limit]))
    if len(rows) > limit:
        where = f" (see the `{artifact}` artifact)" if artifact else ""
        out.print(f"… and {len(rows) - limit} more decisions{where}", markup=False,
                  highlight=False)


def _stdout() -> Console:
    console = Console(highlight=False)
    if not console.is_terminal:
        console = Console(highlight=False, width=PIPED_WIDTH)
    return console


def _hour(value: object) -> str:
    # "2026-11-20T03:00:00+00:00" → "2026-11-20 03:00"
    text = str(value or "")
    return text[:16].replace("T", " ") if len(text) >= 16 else text
