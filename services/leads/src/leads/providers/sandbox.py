"""The embedded default enricher: deterministic, no network.

Sandbox behaviours, documented for users the way payment sandboxes document test cards:
a local part containing `unknown` fails permanently (no such person); an address whose local part contains `flaky`
fails transiently on its first attempt and succeeds on the next; one containing `slow` takes 3 s
more (to watch a job run, or to stop a worker in the middle of one).
"""

from __future__ import annotations

import asyncio
import hashlib
from typing import Any

from leadflood_platform.jobs import RetryableJobError
from leads.providers.base import PermanentEnrichmentError

INDUSTRIES = ["Software", "Fintech", "Healthcare", "Logistics", "Manufacturing", "Retail", "Media"]
SIZES = ["1-10", "11-50", "51-200", "201-500", "501-1000", "1001-5000"]
LOCATIONS = ["Berlin, DE", "London, GB", "New York, US", "Austin, US", "Toronto, CA", "Amsterdam, NL"]


def seniority(title: str) -> str:
    lowered = title.lower()
    for word, level in (
        ("chief", "c_suite"),
        ("ceo", "c_suite"),
        ("cto", "c_suite"),
        ("vp", "vp"),
        ("head", "head"),
        ("director", "director"),
        ("manager", "manager"),
    ):
        if word in lowered:
            return level
    return "senior" if "senior" in lowered else "entry"


class SandboxEnricher:
    name = "sandbox"

    def __init__(self, delay_ms: int) -> None:
        self.delay_s = delay_ms / 1000

    async def enrich(
        self, *, email: str, first_name: str, last_name: str, company_domain: str, title: str, attempt: int
    ) -> dict[str, Any]:
        local, _, email_domain = email.partition("@")
        await asyncio.sleep(self.delay_s + (3 if "slow" in local else 0))
        if "unknown" in local:
            raise PermanentEnrichmentError(f"sandbox: no person found for {email}")
        if "flaky" in local and attempt < 2:
            raise RetryableJobError("sandbox: provider timed out (flaky address, attempt 1)")
        domain = company_domain or email_domain
        digest = int(hashlib.sha256(domain.encode()).hexdigest(), 16)
        return {
            "companyDomain": domain,
            "industry": INDUSTRIES[digest % len(INDUSTRIES)],
            "companySize": SIZES[(digest >> 8) % len(SIZES)],
            "location": LOCATIONS[(digest >> 16) % len(LOCATIONS)],
            "seniority": seniority(title),
            "linkedinUrl": f"https://www.linkedin.com/in/{local.replace('.', '-')}",
        }
