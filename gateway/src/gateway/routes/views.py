"""Saved views: a user's named filters, sort and columns for a list (today the leads table), kept on the server
so they follow the user to another browser; private to their owner, or shared with the whole org.

Who may do what: anyone in the org (a viewer too) lists, applies and keeps views of their own, since a view
changes no data; sharing one with the org takes a member or above (deps.py lets viewers reach these routes,
this module refuses them the `shared` flag). A shared view is changed or deleted by its owner or an admin;
another user's private view is not found (404), as if it did not exist."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from pydantic import Field, StringConstraints, field_validator
from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError

from gateway.auth import Principal
from gateway.deps import RANK, principal
from gateway.models import SavedView, User
from gateway.problems import Problem
from gateway.routes.schemas import Body, Reply, documents
from leadflood_platform.errors import AlreadyExists, FailedPrecondition, NotFound, PermissionDenied

router = APIRouter()
Who = Annotated[Principal, Depends(principal)]
Page = Literal["leads"]  # the lists that have views; the next table adds its name here
MAX_VIEWS = 100  # a user's own views of one list
# No control characters (NUL would not even fit PostgreSQL's JSON): a view's words are typed by people.
_PRINTABLE = r"^[^\x00-\x1f\x7f]*$"
Name = Annotated[str, StringConstraints(min_length=1, max_length=100, pattern=_PRINTABLE)]
FilterName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z][A-Za-z0-9]{0,39}$")]
FilterValue = Annotated[str, StringConstraints(max_length=500, pattern=_PRINTABLE)]
Sort = Annotated[str, StringConstraints(pattern=r"^-?[A-Za-z][A-Za-z0-9]{0,39}$")]
Column = Annotated[str, StringConstraints(pattern=r"^[A-Za-z][A-Za-z0-9]{0,39}$")]
ViewId = Annotated[str, Path(description="The saved view's id")]


def _unique(columns: list[str] | None) -> list[str] | None:
    if columns is not None and len(set(columns)) != len(columns):
        raise ValueError("each column once")
    return columns


class NewView(Body):
    name: Name
    page: Page = "leads"
    filters: dict[FilterName, FilterValue] = Field(default_factory=dict, max_length=20)
    sort: Sort
    columns: list[Column] = Field(min_length=1, max_length=30)
    shared: bool = False

    _columns_once = field_validator("columns")(classmethod(lambda cls, v: _unique(v)))


class ViewChange(Body):
    """Any of a view's parts: rename it, share or unshare it, or save the table's current state over it."""

    name: Name | None = None
    filters: dict[FilterName, FilterValue] | None = Field(default=None, max_length=20)
    sort: Sort | None = None
    columns: list[Column] | None = Field(default=None, min_length=1, max_length=30)
    shared: bool | None = None

    _columns_once = field_validator("columns")(classmethod(lambda cls, v: _unique(v)))


class View(Reply):
    id: str
    page: str
    name: str
    filters: dict[str, str]
    sort: str
    columns: list[str]
    shared: bool
    mine: bool = Field(description="The caller owns it (and so may rename, share or delete it)")
    owner_email: str
    created_at: str
    updated_at: str


class ViewList(Reply):
    views: list[View]


def view_json(view: SavedView, owner_email: str, who: Principal) -> dict[str, Any]:
    return {
        "id": str(view.id),
        "page": view.page,
        "name": view.name,
        "filters": view.filters,
        "sort": view.sort,
        "columns": view.columns,
        "shared": view.shared,
        "mine": str(view.user_id) == who.user_id,
        "ownerEmail": owner_email,
        "createdAt": view.created_at.isoformat(),
        "updatedAt": view.updated_at.isoformat(),
    }


def _visible(who: Principal) -> Any:
    """The views a user sees: their own, and those shared in their org."""
    return (SavedView.org_id == uuid.UUID(who.org_id)) & or_(
        SavedView.user_id == uuid.UUID(who.user_id), SavedView.shared
    )


def _may_share(who: Principal) -> None:
    if RANK[who.role] < RANK["member"]:
        raise PermissionDenied("a viewer keeps views for themself; sharing one with the org takes the member role")


async def _get(session: Any, who: Principal, view_id: str, *, for_update: bool = False) -> tuple[SavedView, str]:
    try:
        key = uuid.UUID(view_id)
    except ValueError:
        raise NotFound(f"no saved view {view_id[:80]!r}") from None
    query = select(SavedView, User.email).join(User, User.id == SavedView.user_id).where(SavedView.id == key)
    if for_update:
        query = query.with_for_update(of=SavedView)
    row = (await session.execute(query.where(_visible(who)))).first()
    if row is None:
        raise NotFound(f"no saved view {view_id[:80]!r}")
    return row[0], row[1]


async def _flush(session: Any, name: str) -> None:
    try:
        await session.flush()
    except IntegrityError:
        raise AlreadyExists(f"you already have a view named {name!r}: choose another name") from None


@router.get("/v1/views", **documents(ViewList))
async def list_views(
    request: Request, who: Who, page: Annotated[Page, Query(description="Which list's views")] = "leads"
) -> dict[str, Any]:
    """The caller's own views of a list and those shared in the org, by name."""
    async with request.app.state.db.transaction() as session:
        rows = await session.execute(
            select(SavedView, User.email)
            .join(User, User.id == SavedView.user_id)
            .where(_visible(who), SavedView.page == page)
            .order_by(func.lower(SavedView.name), SavedView.created_at)
        )
        views = [view_json(view, email, who) for view, email in rows]
    return {"views": views}


@router.post("/v1/views", status_code=201, **documents(View, 201))
async def create_view(body: NewView, request: Request, response: Response, who: Who) -> dict[str, Any]:
    if body.shared:
        _may_share(who)
    async with request.app.state.db.transaction() as session:
        count = await session.scalar(
            select(func.count())
            .select_from(SavedView)
            .where(SavedView.user_id == uuid.UUID(who.user_id), SavedView.page == body.page)
        )
        if count >= MAX_VIEWS:
            raise FailedPrecondition(f"you have {MAX_VIEWS} saved views of this list already: delete one first")
        view = SavedView(
            id=uuid.uuid4(),
            org_id=uuid.UUID(who.org_id),
            user_id=uuid.UUID(who.user_id),
            **body.model_dump(),
        )
        session.add(view)
        await _flush(session, body.name)
        await session.refresh(view)
        email = await session.scalar(select(User.email).where(User.id == view.user_id))
    response.headers["Location"] = f"/v1/views/{view.id}"
    return view_json(view, email, who)


@router.get("/v1/views/{view_id}", **documents(View))
async def get_view(view_id: ViewId, request: Request, who: Who) -> dict[str, Any]:
    async with request.app.state.db.transaction() as session:
        view, email = await _get(session, who, view_id)
    return view_json(view, email, who)


def _may_change(view: SavedView, who: Principal) -> None:
    if str(view.user_id) != who.user_id and RANK[who.role] < RANK["admin"]:
        raise PermissionDenied("a shared view is changed by the one who saved it, or by an admin")


@router.patch("/v1/views/{view_id}", **documents(View))
async def change_view(view_id: ViewId, body: ViewChange, request: Request, who: Who) -> dict[str, Any]:
    """Rename, share or unshare a view, or save the list's current state over it ("Save over this view": its
    `filters`, `sort` and `columns`, each replacing the view's whole). The same body sent again changes
    nothing more, so a retried PATCH needs no Idempotency-Key."""
    changes = body.model_dump(exclude_none=True)
    if not changes:
        raise Problem(422, "nothing to change: send at least one of name, filters, sort, columns, shared")
    if changes.get("shared"):
        _may_share(who)
    async with request.app.state.db.transaction() as session:
        view, email = await _get(session, who, view_id, for_update=True)
        _may_change(view, who)
        for key, value in changes.items():
            setattr(view, key, value)
        view.updated_at = dt.datetime.now(dt.UTC)
        await _flush(session, view.name)
    return view_json(view, email, who)


@router.delete("/v1/views/{view_id}", status_code=204)
async def delete_view(view_id: ViewId, request: Request, who: Who) -> Response:
    async with request.app.state.db.transaction() as session:
        view, _ = await _get(session, who, view_id, for_update=True)
        _may_change(view, who)
        await session.delete(view)
    return Response(status_code=204)
