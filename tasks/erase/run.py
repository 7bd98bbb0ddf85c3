"""`erase_person`: one erasure through read → decide → apply, recorded in the run ledger.

The CLI and the `erase-contact` flow both call it. It runs no Prefect tasks: task runs
would carry the address into the Prefect API, which keeps its data longer than leadflow.
"""

from leadflow.db import ensure_database
from leadflow.runs import recorded_run
from leadflow.settings import Settings
from leadflow.timeutil import utc_now
from tasks.erase.apply import apply_erasure
from tasks.erase.decide import decide_erasure
from tasks.erase.read import read_erasure_inputs
from tasks.erase.report import ErasureOutcome

FLOW_NAME = "erase-contact"


def erase_person(*, settings: Settings, email: str, dry_run: bool = False) -> ErasureOutcome:
    """Erase `email` everywhere leadflow wrote it; `dry_run` reports and changes nothing.

    Even an address with nothing left to remove is recorded (hash and zero counts), so a
    later import of it takes no consent.
    """
    engine = ensure_database(settings.database_url)
    now = utc_now()
    with recorded_run(engine, flow=FLOW_NAME, as_of=now, dry_run=dry_run, rules_hash=None) as run:
        with engine.connect() as conn:
            inputs = read_erasure_inputs(conn, email=email, outbox_dir=settings.outbox_dir)
        plan = decide_erasure(inputs)
        if dry_run:
            outcome = ErasureOutcome(
                run_id=run.run_id, dry_run=True, found=plan.found, counts=plan.counts()
            )
        else:
            applied = apply_erasure(engine, plan, run_id=run.run_id, now=now)
            outcome = ErasureOutcome(
                run_id=run.run_id,
                dry_run=False,
                found=plan.found,
                counts=applied.counts,
                files_left=len(applied.files_left),
            )
        run.summary = outcome.summary()
    return outcome
