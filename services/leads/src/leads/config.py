"""The leads service's settings."""

from leadflood_platform.settings import ServiceSettings


class LeadsSettings(ServiceSettings):
    job_max_attempts: int = 3
    # The sandbox enricher's simulated provider latency, so a user can watch a lead change state.
    sandbox_enrich_delay_ms: int = 500
