"""Fakes and factories for the test suite: one seeder, test settings, loopback Slack and SMTP.

Import what a test needs from the modules (`tests.support.seeding`, `tests.support.settings`,
`tests.support.slack_api`, `tests.support.smtp`, `tests.support.hours`); `tests/conftest.py`
only turns them into fixtures.
"""
