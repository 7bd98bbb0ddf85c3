"""Deployment `erase-contact/on-request`: erase one person (APPI / GDPR request), on demand."""

from prefect import flow
from prefect.artifacts import create_markdown_artifact

from flows.notify import notify_failure
from leadflow.settings import get_settings
from tasks.erase.report import erasure_markdown
from tasks.erase.run import FLOW_NAME, erase_person

ARTIFACT_KEY = "erase-contact-summary"


@flow(
    name=FLOW_NAME,
    log_prints=True,
    on_failure=[notify_failure],
    on_crashed=[notify_failure],
)
def erase_contact(email: str, dry_run: bool = False) -> dict[str, object]:
    """Erase a person everywhere leadflow wrote them and suppress the address.

    Deletes the contact with its events, activities, scores, stage history, owner
    assignments, nurture rows, email sends, suppressions and outbox messages; keeps deals
    without their contact; scrubs the address from quarantine; deletes `.eml` files
    addressed to it; records a salted hash so a later import takes no marketing consent.
    The artifact and the printed line carry counts only. Prefect keeps this run's
    `email` parameter: delete the flow run afterwards, or use `leadflow erase`.

    Args:
        email: The person's email address.
        dry_run: Report what would be removed; change nothing.
    """
    outcome = erase_person(settings=get_settings(), email=email, dry_run=dry_run)
    create_markdown_artifact(
        key=ARTIFACT_KEY,
        markdown=erasure_markdown(outcome),
        description="Erasure counts (no personal data)",
    )
    removed = sum(outcome.counts.values())
    print(
        f"erasure run {outcome.run_id}: "
        + (f"would remove {removed} items" if dry_run else f"removed {removed} items")
    )
    return outcome.summary()
