"""POST /v1/leads/bulk-enrich's answer read from the leads service's EnrichLeads: its counts, with the leads refused
counted beside the others and why. (A lead with nothing to enrich it by cannot be made
over the API, so the refusal is tested here, on the service's reply; the routes themselves in
tests/e2e/test_leads_table_web.py.)"""

from __future__ import annotations

from gateway.routes.leads import enrich_summary
from leadflood.leads.v1 import leads_pb2

STARTED, RUNNING = leads_pb2.LEAD_ENRICH_OUTCOME_STARTED, leads_pb2.LEAD_ENRICH_OUTCOME_ALREADY_RUNNING
NOT_FOUND, REFUSED = leads_pb2.LEAD_ENRICH_OUTCOME_NOT_FOUND, leads_pb2.LEAD_ENRICH_OUTCOME_REFUSED
REASON = "the lead needs an email, or a name and a company domain, to be enriched"


def _reply(*outcomes: int) -> leads_pb2.EnrichLeadsResponse:
    return leads_pb2.EnrichLeadsResponse(
        results=[
            leads_pb2.LeadEnrichResult(
                outcome=o, job_id="" if o in (NOT_FOUND, REFUSED) else "leads.x", reason=REASON if o == REFUSED else ""
            )
            for o in outcomes
        ]  # fmt: skip
    )


def test_the_counts_of_a_selection_enriched() -> None:
    summary = enrich_summary(_reply(STARTED, STARTED, RUNNING, NOT_FOUND))
    assert summary == {"started": 2, "alreadyRunning": 1, "notFound": 1, "refused": 0, "refusedBecause": []}


def test_a_refused_lead_is_counted_with_its_reason_beside_the_others() -> None:
    summary = enrich_summary(_reply(STARTED, REFUSED, RUNNING, REFUSED, NOT_FOUND))
    assert summary == {"started": 1, "alreadyRunning": 1, "notFound": 1, "refused": 2, "refusedBecause": [REASON]}
