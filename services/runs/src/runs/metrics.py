"""The runs service's Prometheus metrics: the queue's health per org (as the sweep last measured it), what the
drain did, the alerts open (the worker, where the sweep and the drain run) and the quota's refusals (the
server). On each process's /metrics with the platform's (leadflood_platform.metrics, on METRICS_PORT)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge

QUEUE_OLDEST_PENDING_AGE = Gauge(
    "leadflood_runs_queue_oldest_pending_age_seconds", "How long the oldest due, unclaimed lead has waited", ["org"]
)
QUEUE_PENDING = Gauge("leadflood_runs_queue_pending", "Due leads not yet claimed", ["org"])
QUEUE_RUNNING = Gauge("leadflood_runs_queue_running", "Leads held by a worker's lease", ["org"])
LEADS_WORKED = Counter("leadflood_runs_leads_worked_total", "Leads the drain worked on, by how it ended", ["outcome"])
LEASES_LOST = Counter("leadflood_runs_leases_lost_total", "Leads whose worker found its lease taken over")
STALE_RECOVERIES = Counter("leadflood_runs_stale_recoveries_total", "Leads taken back from a dead lease")
ALERTS_RAISED = Counter("leadflood_runs_alerts_raised_total", "Alerts raised", ["kind"])
ALERTS_ESCALATED = Counter("leadflood_runs_alerts_escalated_total", "Alerts escalated, by how", ["status"])
ALERTS_OPEN = Gauge("leadflood_runs_alerts_open", "Alerts not yet resolved", ["kind"])
QUOTA_REFUSALS = Counter(
    "leadflood_runs_quota_refusals_total", "Run starts the org's quotas refused, by the limit reached", ["limit"]
)


def queue(ages: dict[str, float], pending: dict[str, int], running: dict[str, int]) -> None:
    """The queue per org as measured now; an org with nothing queued any more reads zero."""
    for gauge, values in ((QUEUE_OLDEST_PENDING_AGE, ages), (QUEUE_PENDING, pending), (QUEUE_RUNNING, running)):
        known = {labels[0] for labels in list(gauge._metrics)}  # the orgs it reported before
        for org in known - set(values):
            gauge.labels(org).set(0)
        for org, value in values.items():
            gauge.labels(org).set(value)
