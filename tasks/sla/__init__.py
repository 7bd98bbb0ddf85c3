"""SLA escalation: clocks per contact, MQL cycle and policy; ladders that fire once."""
