"""The runs service's settings: the platform's, and what this service adds (from its environment).

The names and defaults of the quotas, the alerts and the calendar retries are the seeds' (DESIGN.md,
"Configuration the seeds name").
"""

from leadflood_platform.providers import Provider
from leadflood_platform.settings import ServiceSettings
from runs.calendar import CalendarSettings


class RunsSettings(CalendarSettings, ServiceSettings):
    job_max_attempts: int = 3
    # Per org and UTC day, and at once.
    lead_runs_max_runs_per_day: int = 30
    lead_runs_max_leads_per_day: int = 400
    lead_runs_max_active_runs: int = 3
    # Failed runs (not yet counted in an alert) that raise a run_failures alert.
    lead_run_failure_alert_threshold: int = 2
    # An alert still open this long is escalated to the sink.
    lead_run_alert_escalation_minutes: float = 30.0
    # A Slack-compatible incoming webhook; empty: escalations are logged only.
    lead_run_alert_webhook_url: str = ""
    # A meeting search that finds no slot is tried this many times, waiting backoff * 2^(n-1) between
    # tries and widening its window each time; then an availability-request email is drafted.
    lead_runs_calendar_max_attempts: int = 3
    lead_runs_calendar_backoff_ms: int = 1500
    # The drain: leads claimed per claim, and worked on at once, per worker process.
    lead_runs_batch_size: int = 20
    lead_runs_worker_concurrency: int = 4

    def providers(self) -> list[Provider]:
        return [
            Provider("google_calendar", "meeting booking", ("GOOGLE_CALENDAR_ACCESS_TOKEN",),
                     bool(self.google_calendar_access_token),
                     "a run booking with Google Calendar fails its booking, naming the setting; the sandbox "
                     "calendar still works"),
            Provider("alert_webhook", "alert escalation (Slack-compatible)", ("LEAD_RUN_ALERT_WEBHOOK_URL",),
                     bool(self.lead_run_alert_webhook_url), "escalated alerts are logged only"),
        ]  # fmt: skip

    # A lead's lease: a worker's heartbeat extends it every third of it; one not extended for this
    # long is stale, and the lead goes back to the queue (the seeds' stale-run cutoff: 15 minutes).
    lead_runs_lease_s: float = 900.0
    # A sweep (it holds the one sweep lock) left idle mid-transaction this long by its worker (paused: SIGSTOP,
    # a frozen VM) is ended by the server, so another worker's sweep takes the lock. Longer than the webhook's
    # deadline: the escalation's call is made inside the sweep's transaction.
    lead_runs_transaction_idle_s: float = 30.0
    # A lead's actions are tried this many times (a lost lease, a fault) before the lead fails.
    lead_runs_lead_max_attempts: int = 5
    # How long the oldest due lead may wait before the queue-age alert fires.
    lead_runs_queue_age_alert_s: float = 300.0
    # How often the worker's housekeeping (stale leases, finished runs, alerts) runs; the drain's pause
    # when nothing is due.
    lead_runs_sweep_s: float = 5.0
    lead_runs_idle_s: float = 0.5
    # Deadlines of the calls this service makes.
    icp_call_timeout_s: float = 10.0
    leads_call_timeout_s: float = 10.0
    inbox_call_timeout_s: float = 10.0
    sequences_call_timeout_s: float = 10.0
    webhook_timeout_s: float = 5.0
    # Sourcing waits this long for the ICP's search to finish.
    source_search_timeout_s: float = 600.0
