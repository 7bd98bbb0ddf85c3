"""Ctrl-C during `leadflow import events`: one line that says what happened, exit 130.

The import is one transaction: the events table ends with none of the file's rows (or,
if the interrupt came as it committed, all of them) and with every index it had, also
when a bulk load had dropped them. SQLite's page-cache setting is not restored on a
connection the interrupt closed (that error used to hide the interruption).
"""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from models.tables import Event
from tasks.imports.ledger_store import ledger_cache, secondary_indexes
from tests.support.event_files import EMAILS, EVENTS, write_events
from tests.support.seeding import Seeder

ROOT = Path(__file__).resolve().parents[2]
LEADFLOW = Path(sys.executable).parent / "leadflow"
ROWS = 300_000


def reading(pid: int, path: Path) -> bool:
    """Is process `pid` part-way through reading `path` (an open descriptor on it, moved
    past the start)? Linux's /proc tells without touching the process."""
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            if Path(os.readlink(fd)) != path:
                continue
            position = Path(f"/proc/{pid}/fdinfo/{fd.name}").read_text().split()[1]
        except OSError:
            continue  # closed meanwhile
        if int(position) > 0:
            return True
    return False


def test_ctrl_c_during_a_bulk_events_import_says_so_in_one_line_and_keeps_the_table_whole(
    engine: Engine, database_url: str, seed: Seeder, tmp_path: Path
) -> None:
    seed.contacts(emails=EMAILS)
    with engine.connect() as conn:
        before = secondary_indexes(conn, EVENTS)
    path = write_events(tmp_path, 0, ROWS).resolve()
    process = subprocess.Popen(
        [str(LEADFLOW), "import", "events", str(path)],
        cwd=tmp_path,
        env={**os.environ, "LEADFLOW_DATABASE_URL": database_url, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 120
        while not reading(process.pid, path):
            assert process.poll() is None, process.communicate()
            assert time.monotonic() < deadline, "the import never started reading the file"
            time.sleep(0.05)
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()

    assert process.returncode == 130, (out, err)
    assert "import interrupted" in err
    assert "Traceback" not in out + err
    with engine.connect() as conn:
        landed = conn.execute(select(func.count()).select_from(Event)).scalar_one()
        assert landed in (0, ROWS)
        assert secondary_indexes(conn, EVENTS) == before


def test_a_connection_closed_by_an_interrupt_lets_the_interrupt_through(
    sqlite_engine: Engine,
) -> None:
    with pytest.raises(KeyboardInterrupt), sqlite_engine.connect() as conn, ledger_cache(conn):
        # What SQLAlchemy does to a connection when KeyboardInterrupt hits a statement.
        conn.invalidate()
        raise KeyboardInterrupt
