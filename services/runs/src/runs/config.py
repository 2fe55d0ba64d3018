"""The runs service's settings: the platform's, and what this service adds (from its environment)."""

from leadflood_platform.settings import ServiceSettings


class RunsSettings(ServiceSettings):
    job_max_attempts: int = 3
