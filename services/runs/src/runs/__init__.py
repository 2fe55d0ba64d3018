"""The runs service: lead runs, their per-lead actions and receipts, quotas and the active-run cap, alerts and
escalation, calendar booking, queue health."""
