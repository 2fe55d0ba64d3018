"""Leads domain rules that need no database: validation, normalisation, the sandbox enricher."""

from __future__ import annotations

import pytest

from leadflood_platform.errors import InvalidArgument
from leadflood_platform.jobs import RetryableJobError
from leads.providers.base import PermanentEnrichmentError
from leads.providers.sandbox import SandboxEnricher, seniority
from leads.service import NewLead, normalise_email


def test_email_is_trimmed_and_lower_cased_keeping_plus_addressing() -> None:
    assert normalise_email("  Ada.Lovelace+Sales@Example.COM ") == "ada.lovelace+sales@example.com"


@pytest.mark.parametrize("raw", ["", "no-at-sign", "a@", "@example.com", "a b@example.com"])
def test_invalid_email_names_the_field(raw: str) -> None:
    with pytest.raises(InvalidArgument) as caught:
        normalise_email(raw)
    assert [v.field for v in caught.value.violations] == ["email"]


def test_names_are_required_and_bounded() -> None:
    with pytest.raises(InvalidArgument) as caught:
        NewLead(email="a@example.com", first_name="  ", last_name="B").validated()
    assert caught.value.violations[0].field == "first_name"
    with pytest.raises(InvalidArgument) as caught:
        NewLead(email="a@example.com", first_name="A", last_name="B", title="x" * 201).validated()
    assert caught.value.violations[0].field == "title"


def test_validated_lead_is_trimmed() -> None:
    lead = NewLead(email=" A@B.com ", first_name=" Ada ", last_name=" L ").validated()
    assert (lead.email, lead.first_name, lead.last_name) == ("a@b.com", "Ada", "L")


@pytest.mark.parametrize(
    ("title", "level"),
    [("CEO", "c_suite"), ("VP Sales", "vp"), ("Head of Growth", "head"), ("Senior Engineer", "senior"), ("", "entry")],
)
def test_seniority_from_title(title: str, level: str) -> None:
    assert seniority(title) == level


async def test_sandbox_is_deterministic_per_domain() -> None:
    enricher = SandboxEnricher(delay_ms=0)
    first = await enricher.enrich(
        email="a@acme.io", first_name="A", last_name="B", company_domain="", title="CTO", attempt=1
    )
    again = await enricher.enrich(
        email="b@acme.io", first_name="B", last_name="C", company_domain="", title="CTO", attempt=1
    )
    assert first["companyDomain"] == "acme.io" and first["industry"] == again["industry"]
    assert first["linkedinUrl"].endswith("/a")


async def test_sandbox_failure_modes() -> None:
    enricher = SandboxEnricher(delay_ms=0)
    with pytest.raises(PermanentEnrichmentError):
        await enricher.enrich(
            email="unknown@acme.io", first_name="", last_name="", company_domain="", title="", attempt=1
        )
    with pytest.raises(RetryableJobError):
        await enricher.enrich(
            email="flaky@acme.io", first_name="", last_name="", company_domain="", title="", attempt=1
        )
    assert (
        await enricher.enrich(
            email="flaky@acme.io", first_name="", last_name="", company_domain="", title="", attempt=2
        )
    )["companyDomain"] == "acme.io"
