"""The ICP service's tables, in its own `icp` schema."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import ARRAY, Boolean, DateTime, ForeignKey, Integer, LargeBinary, Text, func
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from leadflood_platform.db import CreatedAt, UpdatedAt, declarative_base
from leadflood_platform.tables import PlatformTables

Base = declarative_base("icp")
platform_tables = PlatformTables(Base.metadata, version=2)


class Icp(Base):
    __tablename__ = "icps"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    org_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    name: Mapped[str] = mapped_column(Text)
    titles: Mapped[list[str]] = mapped_column(ARRAY(Text))
    seniorities: Mapped[list[str]] = mapped_column(ARRAY(Text))
    industries: Mapped[list[str]] = mapped_column(ARRAY(Text))
    company_size_min: Mapped[int | None] = mapped_column(Integer)
    company_size_max: Mapped[int | None] = mapped_column(Integer)
    locations: Mapped[list[str]] = mapped_column(ARRAY(Text))
    keywords: Mapped[list[str]] = mapped_column(ARRAY(Text))
    min_score: Mapped[int] = mapped_column(Integer)
    weights: Mapped[dict[str, int]] = mapped_column(JSONB)
    created_at: Mapped[CreatedAt]
    updated_at: Mapped[UpdatedAt]


class SearchRun(Base):
    __tablename__ = "search_runs"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    org_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    icp_id: Mapped[uuid.UUID] = mapped_column(ForeignKey(Icp.id, ondelete="CASCADE"))
    source: Mapped[str] = mapped_column(Text)
    limit: Mapped[int] = mapped_column(Integer)
    per_page: Mapped[int] = mapped_column(Integer)
    # The ICP's rules as they were when the run started: an edit mid-run does not change it.
    rules: Mapped[dict[str, Any]] = mapped_column(JSONB)
    # sha256 of (icp, source, normalised params, UTC day); a forced run adds its own id.
    idempotency_key: Mapped[str] = mapped_column(Text)
    # queued | running | completed | failed | cancelled
    status: Mapped[str] = mapped_column(Text, default="queued")
    # The fetcher's bookkeeping (how far a resumed run has fetched), ahead of what was counted.
    pages_fetched: Mapped[int] = mapped_column(Integer, default=0)
    people_fetched: Mapped[int] = mapped_column(Integer, default=0)
    # What a user is shown: pages handed on, counted with their diagnostics in one statement.
    pages_delivered: Mapped[int] = mapped_column(Integer, default=0)
    # Where a resumed run picks up: the first page not yet handed to the leads service.
    next_page: Mapped[int] = mapped_column(Integer, default=1)
    exhausted: Mapped[bool] = mapped_column(Boolean, default=False)
    diagnostics: Mapped[dict[str, int]] = mapped_column(JSONB, default=dict)
    error: Mapped[str | None] = mapped_column(Text)
    job_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    created_at: Mapped[CreatedAt]
    started_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class SearchPage(Base):
    """A page as the provider returned it, kept so a resumed run never fetches it again."""

    __tablename__ = "search_pages"

    run_id: Mapped[uuid.UUID] = mapped_column(ForeignKey(SearchRun.id, ondelete="CASCADE"), primary_key=True)
    page: Mapped[int] = mapped_column(Integer, primary_key=True)
    # leads.v1.UpsertSourcedLeadsRequest with only `people` set, serialised: exactly what is sent on.
    people: Mapped[bytes] = mapped_column(LargeBinary)
    count: Mapped[int] = mapped_column(Integer)
    delivered: Mapped[bool] = mapped_column(Boolean, default=False)
    diagnostics: Mapped[dict[str, int] | None] = mapped_column(JSONB)
    fetched_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
