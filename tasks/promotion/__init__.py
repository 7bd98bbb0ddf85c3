"""Promotion: lifecycle moves, hot leads, owner assignment and the Slack hand-off."""
