"""pandera schema for the emails nurture hands to the outbox (a boundary frame)."""

import pandera.pandas as pa

EMAIL_ADDRESS = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
EMAIL_KEY = r"^nurture:[a-z0-9_]+:\d+:\d{8}T\d{6}Z:[a-z0-9_]+$"
TEMPLATE = r"^[a-z0-9_]+/[a-z0-9_]+$"


def planned_emails_schema(locales: list[str]) -> pa.DataFrameSchema:
    """Rows of PlannedEmail: a deliverable address, a well-formed key and template, a locale."""
    return pa.DataFrameSchema(
        {
            "email_id": pa.Column(str, pa.Check.str_matches(EMAIL_KEY)),
            "contact_id": pa.Column(int, pa.Check.gt(0)),
            "to": pa.Column(str, pa.Check.str_matches(EMAIL_ADDRESS)),
            "template": pa.Column(str, pa.Check.str_matches(TEMPLATE)),
            "locale": pa.Column(str, pa.Check.isin(locales)),
        },
        strict=False,
        coerce=False,
    )
