"""The leads service's tables, in its own `leads` schema."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import ARRAY, BigInteger, Boolean, Computed, ForeignKey, Integer, Text
from sqlalchemy.dialects.postgresql import JSONB, TSVECTOR, UUID
from sqlalchemy.orm import Mapped, mapped_column

from leadflood_platform.db import CreatedAt, UpdatedAt, declarative_base
from leadflood_platform.tables import PlatformTables

Base = declarative_base("leads")
platform_tables = PlatformTables(Base.metadata, version=2)

# The columns a sourcing run or an import may fill in; a user's hand edit to one of them sticks.
MERGED_FIELDS = (
    "first_name",
    "last_name",
    "company_name",
    "title",
    "seniority",
    "industry",
    "company_domain",
    "location",
    "linkedin_url",
    "phone",
)


# The words a lead is found by: names, company and the parts of the email address, matched by prefix
# (see listing.py). A word index stays cheap to keep up while bulk-loading; a trigram index cost
# about three times as much per lead (measured by make bench).
SEARCH_DOCUMENT = (
    "to_tsvector('simple'::regconfig, first_name || ' ' || last_name || ' ' || company_name || ' ' "
    "|| translate(coalesce(email, ''), '@.+_-', '     '))"
)


class Lead(Base):
    __tablename__ = "leads"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    org_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    # Normalised (trimmed, lower-cased); unique per org. None for a sourced person with no email.
    email: Mapped[str | None] = mapped_column(Text)
    first_name: Mapped[str] = mapped_column(Text)
    last_name: Mapped[str] = mapped_column(Text)
    company_name: Mapped[str] = mapped_column(Text, default="")
    title: Mapped[str] = mapped_column(Text, default="")
    source: Mapped[str] = mapped_column(Text, default="manual")
    # The provider's id for the person; de-duplicates leads that have no email.
    external_id: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(Text, default="new")
    error: Mapped[str | None] = mapped_column(Text)
    enrichment: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    icp_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    search_run_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    score: Mapped[int] = mapped_column(Integer, default=0)
    # A row of score_explanations: leads scored alike share one.
    score_explanation_id: Mapped[int | None] = mapped_column(BigInteger)
    filtered: Mapped[bool] = mapped_column(Boolean, default=False)
    seniority: Mapped[str] = mapped_column(Text, default="")
    industry: Mapped[str] = mapped_column(Text, default="")
    company_domain: Mapped[str] = mapped_column(Text, default="")
    company_size: Mapped[int | None] = mapped_column(Integer)
    # The upper end when the size is a range (an enrichment's "51-200"); None for a headcount.
    company_size_max: Mapped[int | None] = mapped_column(Integer)
    location: Mapped[str] = mapped_column(Text, default="")
    # Set by hand (or by an import); else read from the location (time_zones.effective).
    time_zone: Mapped[str | None] = mapped_column(Text)
    linkedin_url: Mapped[str] = mapped_column(Text, default="")
    # E.164 (phones.normalised); empty: none, and a sequence's SMS steps skip the lead.
    phone: Mapped[str] = mapped_column(Text, default="", server_default="")
    edited_fields: Mapped[list[str]] = mapped_column(ARRAY(Text), default=list)
    search_document: Mapped[Any] = mapped_column(TSVECTOR, Computed(SEARCH_DOCUMENT), deferred=True)
    created_at: Mapped[CreatedAt]
    updated_at: Mapped[UpdatedAt]


class EnrichmentRun(Base):
    """One enrichment of a lead: the history a user reads on the lead's page."""

    __tablename__ = "enrichment_runs"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    org_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    lead_id: Mapped[uuid.UUID] = mapped_column(ForeignKey(Lead.id, ondelete="CASCADE"))
    job_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    provider: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(Text, default="queued")
    fields: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[CreatedAt]
    updated_at: Mapped[UpdatedAt]


class ScoreExplanation(Base):
    """Why leads got their score, rule by rule; content-addressed, so leads scored alike share one row."""

    __tablename__ = "score_explanations"

    org_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)  # scoring.explanation_id of `rules`
    rules: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)


class SourceBatch(Base):
    """A page of a search run, applied once: a resent page returns these diagnostics instead."""

    __tablename__ = "source_batches"

    org_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    search_run_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    batch: Mapped[int] = mapped_column(Integer, primary_key=True)
    diagnostics: Mapped[dict[str, int]] = mapped_column(JSONB)
    created_at: Mapped[CreatedAt]
