"""`import_file`: one CSV file through read → prepare → apply, in one transaction."""

import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime, tzinfo
from pathlib import Path

import pandas as pd
from sqlalchemy import Connection, Engine, Table

from leadflow.paths import DEFAULT_RULES_PATH
from models.enums import Stage
from models.rules import Rules, load_rules
from models.tables import Event
from tasks.imports.apply import Apply, Context, applier, finish_import
from tasks.imports.columns import ImportFileError, ImportKind, Layout, layout_for, quarantine_frame
from tasks.imports.consent import ConsentMapping, consent_hint
from tasks.imports.dates import DateFormat
from tasks.imports.ledger_store import (
    BULK_LOAD_MIN_ROWS,
    approximate_rows,
    is_bulk_load,
    ledger_cache,
    secondary_indexes_rebuilt,
)
from tasks.imports.prepare import prepare_rows, unknown_stages
from tasks.imports.read import CsvChunk, iter_csv_chunks, read_header, sniff_text
from tasks.imports.report import ImportSummary, reason_lines
from tasks.imports.store import write_quarantine

EVENTS_TABLE: Table = Event.__table__  # type: ignore[assignment]
# Ledgers can be millions of rows: they stream through in chunks of this many records.
LEDGER_CHUNK = 200_000

# Told (rows read so far, lines in the file or None) after every chunk.
ImportProgress = Callable[[int, int | None], None]


def count_data_lines(path: Path) -> int:
    """Physical lines after the header: the progress bar's total (quoted line breaks count)."""
    lines = 0
    last = b"\n"
    with path.open("rb") as handle:
        while block := handle.read(1 << 20):
            lines += block.count(b"\n")
            last = block[-1:]
    if last != b"\n":
        lines += 1
    return max(lines - 1, 0)


def import_file(
    engine: Engine,
    *,
    kind: ImportKind,
    path: str | Path,
    naive_tz: tzinfo,
    now: datetime,
    stage_map: Mapping[str, Stage] | None = None,
    deal_stage_map: Mapping[str, str] | None = None,
    max_bad_row_share: float = 1.0,
    dry_run: bool = False,
    source: str | None = None,
    reason_limit: int = 10,
    chunk_rows: int | None = None,
    on_progress: ImportProgress | None = None,
    rules: Rules | None = None,
    date_format: DateFormat | None = None,
    consent: ConsentMapping | None = None,
    bulk_min_rows: int = BULK_LOAD_MIN_ROWS,
) -> ImportSummary:
    """Import one CSV file of `kind`; returns what landed and what was quarantined.

    `now` is the import's wall-clock instant (ingested_at, updated_at, quarantine time);
    naive timestamps in the file are read in `naive_tz`. Everything is written in one
    transaction, rolled back when `dry_run`. Every row lands or is quarantined
    (`summary.rows == summary.landed + summary.quarantined_rows`); a bad row never
    raises. A file that cannot be read at all (missing, unreadable, no usable header)
    raises ImportFileError naming the file. Too many bad rows do not raise here:
    `summary.check_bad_rows()` raises TooManyBadRows, after the good rows landed.
    `on_progress` hears the rows read after each chunk, with the file's line count.
    New activities move lead statuses under `rules` (default: rules/default.yaml); deals
    take their pipeline from `rules.deals`, custom deal stages mapped by `deal_stage_map`
    (see `parse_deal_stage_map`), and record deal-stage history and won customers.
    Day-first or month-first dates are read only with `date_format`. Contacts take
    marketing consent and opt-outs from the columns `consent` names (see
    `tasks.imports.consent`); the summary says who can receive nurture email.
    An events file of at least `bulk_min_rows` lines, and at least twice as many as the
    events table holds, is a bulk load: the table's secondary indexes are rebuilt once before
    commit (`summary.rebuilt_indexes`), and readers of the table wait for the import.
    """
    shown = source or str(path)
    file = Path(path)
    consent = consent if kind == "contacts" else None
    try:
        text = sniff_text(file) if file.is_file() else None
        layout = layout_for(
            read_header(file, source=shown, text=text),
            kind=kind,
            source=shown,
            extra=consent.columns() if consent else None,
            asked_by=_asked_by(consent),
        )
        summary = ImportSummary(
            kind=kind,
            source=shown,
            max_bad_row_share=max_bad_row_share,
            dry_run=dry_run,
            hubspot=layout.hubspot,
        )
        if kind == "contacts":
            summary.consent_source = _consent_source(layout, consent)
            summary.consent_hint = consent_hint(layout.ignored)
        ledger = kind in ("events", "activities")
        chunks = iter_csv_chunks(
            file,
            layout=layout,
            chunk_rows=(chunk_rows or LEDGER_CHUNK) if ledger else None,
            text=text,
        )
        apply = applier(kind, contact_label=layout.label("contact_email"))
        bulk_check = kind == "events"
        lines = count_data_lines(file) if on_progress is not None or bulk_check else None
        total = lines if on_progress is not None else None
        # Activities move lead statuses and deals follow the pipeline; others never read rules.
        uses_rules = kind in ("activities", "deals")
        status_rules = (rules or load_rules(DEFAULT_RULES_PATH)) if uses_rules else None
        with engine.connect() as conn, _ledger_cache(conn, ledger):
            transaction = conn.begin()
            try:
                ctx = Context(
                    conn, now=now, summary=summary, run_id=str(uuid.uuid4()), rules=status_rules
                )
                bulk = bulk_check and is_bulk_load(
                    lines or 0, approximate_rows(conn, EVENTS_TABLE), min_rows=bulk_min_rows
                )
                with secondary_indexes_rebuilt(conn, EVENTS_TABLE, bulk=bulk) as rebuilt:
                    summary.rebuilt_indexes = rebuilt
                    for chunk in chunks:
                        _import_chunk(
                            ctx,
                            chunk,
                            apply=apply,
                            layout=layout,
                            naive_tz=naive_tz,
                            stage_map=stage_map or {},
                            deal_stage_map=deal_stage_map or {},
                            reason_limit=reason_limit,
                            date_format=date_format,
                            consent=consent,
                        )
                        if on_progress is not None:
                            on_progress(summary.rows, total)
                finish_import(ctx)
            except BaseException:
                transaction.rollback()
                raise
            if dry_run:
                transaction.rollback()
            else:
                transaction.commit()
    except OSError as error:
        reason = error.strerror or str(error)
        raise ImportFileError(f"{shown}: cannot read the file ({reason})") from error
    return summary


@contextmanager
def _ledger_cache(conn: Connection, ledger: bool) -> Iterator[None]:
    if ledger:
        with ledger_cache(conn):
            yield
    else:
        yield


def _asked_by(consent: ConsentMapping | None) -> dict[str, str]:
    if consent is None:
        return {}
    return {consent.internal(rule): rule.shown for rule in consent.rules}


def _consent_source(layout: Layout, consent: ConsentMapping | None) -> str | None:
    """Where the contacts' consent comes from, for the summary (None: nowhere)."""
    if consent is not None and consent.grants:
        if "consent" in layout.positions:
            raise ImportFileError(
                f"{layout.source}: the file has a '{layout.label('consent')}' column and "
                "--consent-from was given: use one of them"
            )
        shown = [rule.shown for rule in consent.rules if rule.verdict == "consent"]
        return "consent from " + " or ".join(shown)
    if "consent" in layout.positions:
        return f"consent from the '{layout.label('consent')}' column"
    return None


def _import_chunk(
    ctx: Context,
    chunk: CsvChunk,
    *,
    apply: Apply,
    layout: Layout,
    naive_tz: tzinfo,
    stage_map: Mapping[str, Stage],
    deal_stage_map: Mapping[str, str],
    reason_limit: int,
    date_format: DateFormat | None,
    consent: ConsentMapping | None,
) -> None:
    summary = ctx.summary
    prepared = prepare_rows(
        chunk,
        layout=layout,
        naive_tz=naive_tz,
        stage_map=stage_map,
        now=ctx.now,
        deal_rules=ctx.rules.deals if ctx.rules is not None else None,
        deal_stage_map=deal_stage_map,
        date_format=date_format,
        consent=consent,
    )
    found = apply(ctx, prepared)
    parts = [q for q in (prepared.quarantine, found) if not q.empty]
    quarantine = pd.concat(parts, ignore_index=True) if parts else quarantine_frame()
    records = write_quarantine(
        ctx.conn, quarantine, source=summary.source, run_id=ctx.run_id, now=ctx.now
    )
    summary.rows += prepared.total
    summary.notes.update(prepared.notes)
    summary.unknown_stages.update(unknown_stages(quarantine))
    # Chunks never share a line, so distinct lines add up across chunks.
    summary.quarantined_rows += int(quarantine["row_number"].nunique())
    summary.quarantine_records += len(quarantine)
    if records and summary.first_problem is None:
        summary.first_problem = records[0]
    room = reason_limit - len(summary.reasons)
    if room > 0 and not quarantine.empty:
        summary.reasons.extend(reason_lines(quarantine, source=summary.source, limit=room))
