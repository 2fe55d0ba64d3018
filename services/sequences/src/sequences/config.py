"""The sequences service's settings: the platform's, and what this service adds (from its environment)."""

from leadflood_platform.settings import ServiceSettings


class SequencesSettings(ServiceSettings):
    job_max_attempts: int = 3
    # The scheduler: enrollments claimed per batch (one transaction; an org's leads read in one call and its sends
    # made in one SendMessages call), calls to the mail room in flight at once, the pause between batches when
    # nothing more is due, and how soon a send the mail room or the leads service did not answer is tried again.
    # 20 -> 50 a batch and 2 -> 4 batches in flight: 13.5 -> 9.7 ms of CPU an email along the path (a probe of
    # 3,000 at load ~18); 100 a batch gained little more (9.1) and holds its enrollments' locks twice as long.
    scheduler_batch_size: int = 50
    scheduler_concurrency: int = 16
    # Batches a worker works on at once, each its own claim and transaction: while one records its outcomes and
    # commits, another's sends are in flight, rather than every batch waiting for its slowest send.
    scheduler_batches_in_flight: int = 4
    scheduler_idle_s: float = 1.0
    scheduler_retry_s: float = 30.0
    # A send the mail room cannot take until the org has a mailbox (FAILED_PRECONDITION).
    scheduler_no_mailbox_retry_s: float = 300.0
    # Deadlines of the calls to the mail room (SendMessage(s)) and the leads service (GetLead, ListLeads).
    inbox_call_timeout_s: float = 10.0
    leads_call_timeout_s: float = 5.0
