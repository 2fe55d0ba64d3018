"""The leads service's settings."""

from leadflood_platform.providers import Provider
from leadflood_platform.settings import ServiceSettings


class LeadsSettings(ServiceSettings):
    job_max_attempts: int = 3
    # The sandbox enricher's simulated provider latency, so a user can watch a lead change state.
    sandbox_enrich_delay_ms: int = 500
    hunter_api_key: str | None = None
    hunter_base_url: str = "https://api.hunter.io"
    provider_timeout_s: float = 10.0
    # The deadline of a call to the icp service for an ICP's rules (linking or rescoring leads); the channel
    # retries UNAVAILABLE within it (leadflood_platform.grpc_client).
    icp_call_timeout_s: float = 5.0

    def providers(self) -> list[Provider]:
        return [
            Provider("hunter", "email enrichment", ("HUNTER_API_KEY",), bool(self.hunter_api_key),
                     "enriching with Hunter is refused, naming the setting; the sandbox enricher still works"),
        ]  # fmt: skip
