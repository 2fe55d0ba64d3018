"""The ICP service's settings."""

from leadflood_platform.providers import Provider
from leadflood_platform.settings import ServiceSettings


class IcpSettings(ServiceSettings):
    job_max_attempts: int = 3
    apollo_api_key: str | None = None
    apollo_base_url: str = "https://api.apollo.io"
    # Each provider HTTP request; the retry helper makes several within one page fetch.
    provider_timeout_s: float = 10.0
    # The sandbox source's simulated latency per page, so a user (or a test) can watch a run progress.
    sandbox_search_page_delay_ms: int = 0
    # Share of sandbox people who repeat someone from an earlier page of the run.
    sandbox_search_duplicate_rate: float = 0.08
    # A call to the leads service: a page of sourced people handed over, or a new minimum score applied to an
    # ICP's leads (one statement over all of them).
    leads_call_timeout_s: float = 30.0

    def providers(self) -> list[Provider]:
        return [
            Provider("apollo", "people search", ("APOLLO_API_KEY",), bool(self.apollo_api_key),
                     "a search with Apollo is refused, naming the setting; the sandbox source still works"),
        ]  # fmt: skip
