"""Nurture: enrolment, waits, branches and marketing email through the outbox."""
