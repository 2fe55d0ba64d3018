"""The sequences service's settings: the platform's, and what this service adds (from its environment)."""

from leadflood_platform.settings import ServiceSettings


class SequencesSettings(ServiceSettings):
    job_max_attempts: int = 3
    # The scheduler: enrollments claimed per batch (one transaction), sends in flight at once, the
    # pause between batches when nothing more is due, and how soon a send the mail room or the leads
    # service did not answer is tried again.
    scheduler_batch_size: int = 20
    scheduler_concurrency: int = 16
    # Batches a worker works on at once, each its own claim and transaction: while one records its outcomes and
    # commits, another's sends are in flight, rather than every batch waiting for its slowest send.
    scheduler_batches_in_flight: int = 2
    scheduler_idle_s: float = 1.0
    scheduler_retry_s: float = 30.0
    # A send the mail room cannot take until the org has a mailbox (FAILED_PRECONDITION).
    scheduler_no_mailbox_retry_s: float = 300.0
    # Deadlines of the calls to the mail room (SendMessage) and the leads service (GetLead).
    inbox_call_timeout_s: float = 10.0
    leads_call_timeout_s: float = 5.0
