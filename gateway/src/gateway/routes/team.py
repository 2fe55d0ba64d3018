"""The org's people: members and their roles, invitations by link (and joining by one), the audit log.
Who may call what is decided in one place, gateway/deps.py's `required_role`."""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import secrets
import uuid
from typing import Annotated, Any, Literal

import grpc
from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import Field, field_validator
from pydantic_core import PydanticCustomError
from sqlalchemy import func, select, update

from gateway import audit, auth
from gateway.auth import Principal
from gateway.deps import principal
from gateway.models import AuditEntry, Invitation, Membership, Org, RefreshToken, User
from gateway.problems import Problem, from_grpc
from gateway.routes.auth import _tokens
from gateway.routes.schemas import MAX_TOTAL, Body
from leadflood.inbox.v1 import delivery_pb2
from leadflood_platform import context
from leadflood_platform.errors import AlreadyExists, NotFound

log = logging.getLogger(__name__)
router = APIRouter()
Who = Annotated[Principal, Depends(principal)]
Role = Literal["owner", "admin", "member", "viewer"]
INVITATION_TTL = dt.timedelta(days=7)


def _email(value: str) -> str:
    value = value.strip().lower()
    local, _, domain = value.partition("@")
    if not local or "." not in domain or any(ord(c) < 33 or ord(c) == 127 for c in value):
        raise PydanticCustomError("email", "Not a valid email address")
    return value


class NewInvitation(Body):
    email: str = Field(min_length=3, max_length=320)
    role: Role = "member"

    _valid_email = field_validator("email")(classmethod(lambda cls, v: _email(v)))


class RoleChange(Body):
    role: Role


class Joining(Body):
    password: str = Field(min_length=8, max_length=1024)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _uuid(value: str, what: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        raise NotFound(f"no {what} {value[:80]!r} in this org") from None


def _may_grant(who: Principal, role: str) -> None:
    if role == "owner" and who.role != "owner":
        raise Problem(403, "only an owner can make someone an owner, or change an owner's role")


# --- members -----------------------------------------------------------------------------------------------------


@router.get("/v1/users")
async def list_users(request: Request, who: Who) -> dict[str, Any]:
    """Everyone in the caller's org with their role, the caller's own role among them."""
    async with request.app.state.db.transaction() as session:
        rows = await session.execute(
            select(User.id, User.email, Membership.role, Membership.created_at)
            .join(Membership, Membership.user_id == User.id)
            .where(Membership.org_id == uuid.UUID(who.org_id))
            .order_by(Membership.created_at, User.email)
        )
        users = [
            {"userId": str(i), "email": e, "role": r, "joinedAt": at.isoformat(), "you": str(i) == who.user_id}
            for i, e, r, at in rows
        ]
    return {"users": users, "yourRole": who.role}


async def _membership(session: Any, who: Principal, user_id: str) -> Membership:
    member = await session.get(Membership, (uuid.UUID(who.org_id), _uuid(user_id, "user")), with_for_update=True)
    if member is None:
        raise NotFound(f"no user {user_id} in this org")
    return member


async def _other_owners(session: Any, org_id: str, user_id: uuid.UUID) -> int:
    return (
        await session.execute(
            select(func.count())
            .select_from(Membership)
            .where(Membership.org_id == uuid.UUID(org_id), Membership.role == "owner", Membership.user_id != user_id)
        )
    ).scalar_one()


@router.patch("/v1/users/{user_id}")
async def change_role(user_id: str, body: RoleChange, request: Request, who: Who) -> dict[str, Any]:
    async with request.app.state.db.transaction() as session:
        member = await _membership(session, who, user_id)
        if member.role == body.role:
            return {"userId": user_id, "role": member.role}
        _may_grant(who, body.role)
        _may_grant(who, member.role)
        if member.role == "owner" and not await _other_owners(session, who.org_id, member.user_id):
            raise Problem(409, "an org keeps at least one owner: make someone else owner first")
        before, member.role = member.role, body.role
        email = (await session.get(User, member.user_id)).email
        await audit.record(request, who, "member.role_changed", email, session=session, before=before, after=body.role)
    request.app.state.sessions.forget()  # the new role holds from the next request (other processes: within 2 s)
    return {"userId": user_id, "role": body.role}


@router.delete("/v1/users/{user_id}", status_code=204)
async def remove_user(user_id: str, request: Request, who: Who) -> Response:
    """Takes the user out of the org: every sign-in of theirs ends."""
    async with request.app.state.db.transaction() as session:
        member = await _membership(session, who, user_id)
        _may_grant(who, member.role)
        if member.role == "owner" and not await _other_owners(session, who.org_id, member.user_id):
            raise Problem(409, "an org keeps at least one owner: make someone else owner first")
        await session.delete(member)
        await session.execute(
            update(RefreshToken)
            .where(RefreshToken.user_id == member.user_id, RefreshToken.revoked_at.is_(None))
            .values(revoked_at=func.now())
        )
        email = (await session.get(User, member.user_id)).email
        await audit.record(request, who, "member.removed", email, session=session, role=member.role)
    request.app.state.sessions.forget()
    return Response(status_code=204)


# --- invitations -------------------------------------------------------------------------------------------------


def _invitation_json(invitation: Invitation, url: str | None = None) -> dict[str, Any]:
    return {
        "id": str(invitation.id),
        "email": invitation.email,
        "role": invitation.role,
        "createdAt": invitation.created_at.isoformat() if invitation.created_at else None,
        "expiresAt": invitation.expires_at.isoformat(),
        **({"inviteUrl": url} if url else {}),
    }


async def _send_invitation(request: Request, who: Principal, invitation: Invitation, org: str, url: str) -> str | None:
    """The invitation by email, through the mail room (the org's default mailbox; the local default captures it
    at `#/mail`). Best effort: the link in the answer works whether or not it was sent; None, or why not."""
    try:
        reply = await request.app.state.services.delivery.SendMessage(
            delivery_pb2.SendMessageRequest(
                idempotency_key=f"invitation:{invitation.id}",
                channel=delivery_pb2.CHANNEL_EMAIL,
                to=delivery_pb2.Recipient(email=invitation.email),
                subject=f"{who.email} invites you to {org} on Lead Flood",
                text_body=(
                    f"{who.email} invites you to join {org} on Lead Flood as {invitation.role}.\n\n"
                    f"Open this link to choose your password and join (it works for 7 days):\n{url}\n"
                ),
                origin="invitation",
            )
        )
    except grpc.aio.AioRpcError as error:
        log.warning("invitation email not sent", extra={"code": error.code().name, "details": error.details()})
        # The mail room's field problems say why (a reserved domain such as .test cannot receive mail); its
        # summary alone ("the message cannot be sent as given") says nothing a user can act on.
        _, detail, problems, _ = from_grpc(error)
        return "; ".join(p.message for p in problems) or detail
    outcome = delivery_pb2.SendOutcome.Name(reply.outcome)
    return None if outcome in ("SEND_OUTCOME_SENT", "SEND_OUTCOME_QUEUED") else (reply.reason or outcome.lower())


@router.post("/v1/invitations", status_code=201)
async def invite(body: NewInvitation, request: Request, who: Who) -> dict[str, Any]:
    """An invitation link for `email` to join the caller's org with `role` (7 days). The answer carries the link
    (`inviteUrl`) to hand over, and whether the invitation email went out (`emailSent`)."""
    _may_grant(who, body.role)
    token = secrets.token_urlsafe(32)
    async with request.app.state.db.transaction() as session:
        if (await session.execute(select(User.id).where(User.email == body.email))).first():
            raise AlreadyExists(f"{body.email} already has an account")
        invitation = Invitation(
            id=uuid.uuid4(),
            org_id=uuid.UUID(who.org_id),
            email=body.email,
            role=body.role,
            token_hash=_hash(token),
            invited_by=uuid.UUID(who.user_id),
            expires_at=dt.datetime.now(dt.UTC) + INVITATION_TTL,
        )
        session.add(invitation)
        org = (await session.get(Org, uuid.UUID(who.org_id))).name
        await audit.record(request, who, "invitation.created", body.email, session=session, role=body.role)
    url = f"{request.app.state.settings.public_base_url.rstrip('/')}/#/join/{token}"
    not_sent = await _send_invitation(request, who, invitation, org, url)
    return _invitation_json(invitation, url) | {"emailSent": not_sent is None, "emailError": not_sent}


@router.get("/v1/invitations")
async def list_invitations(request: Request, who: Who) -> dict[str, Any]:
    """Invitations not yet accepted, revoked or expired."""
    async with request.app.state.db.transaction() as session:
        rows = await session.execute(
            select(Invitation)
            .where(
                Invitation.org_id == uuid.UUID(who.org_id),
                Invitation.accepted_at.is_(None),
                Invitation.revoked_at.is_(None),
                Invitation.expires_at > func.now(),
            )
            .order_by(Invitation.created_at.desc())
        )
        return {"invitations": [_invitation_json(i) for i in rows.scalars()]}


@router.delete("/v1/invitations/{invitation_id}", status_code=204)
async def revoke_invitation(invitation_id: str, request: Request, who: Who) -> Response:
    async with request.app.state.db.transaction() as session:
        invitation = await session.get(Invitation, _uuid(invitation_id, "invitation"), with_for_update=True)
        if invitation is None or str(invitation.org_id) != who.org_id or invitation.accepted_at:
            raise NotFound(f"no pending invitation {invitation_id} in this org")
        invitation.revoked_at = dt.datetime.now(dt.UTC)
        await audit.record(request, who, "invitation.revoked", invitation.email, session=session)
    return Response(status_code=204)


async def _open_invitation(session: Any, token: str) -> Invitation:
    invitation = (
        await session.execute(select(Invitation).where(Invitation.token_hash == _hash(token)).with_for_update())
    ).scalar_one_or_none()
    if (
        invitation is None
        or invitation.revoked_at
        or invitation.accepted_at
        or invitation.expires_at <= dt.datetime.now(dt.UTC)
    ):
        raise NotFound("this invitation link is not valid: it was used, withdrawn or has expired; ask for a new one")
    return invitation


@router.get("/v1/join/{token}")
async def invitation_for_link(token: str, request: Request) -> dict[str, Any]:
    """No sign-in: what an invitation link invites to (the org, the email, the role), for the join page."""
    async with request.app.state.db.transaction() as session:
        invitation = await _open_invitation(session, token)
        org = await session.get(Org, invitation.org_id)
    return {"orgName": org.name, "email": invitation.email, "role": invitation.role}


@router.post("/v1/join/{token}")
async def join(token: str, body: Joining, request: Request) -> dict[str, Any]:
    """No sign-in: accepts an invitation, choosing a password; answers with the new user's tokens (signed in)."""
    state = request.app.state
    password_hash = await state.passwords.hash(body.password)
    async with state.db.transaction() as session:
        invitation = await _open_invitation(session, token)
        if (await session.execute(select(User.id).where(User.email == invitation.email))).first():
            raise AlreadyExists(f"{invitation.email} already has an account: sign in instead")
        user = User(id=uuid.uuid4(), org_id=invitation.org_id, email=invitation.email, password_hash=password_hash)
        session.add(user)
        await session.flush()
        session.add(Membership(org_id=invitation.org_id, user_id=user.id, role=invitation.role))
        invitation.accepted_at = dt.datetime.now(dt.UTC)
        joined = Principal(user_id=str(user.id), org_id=str(user.org_id), email=user.email, role=invitation.role)
        context.org_id.set(joined.org_id)
        await audit.record(request, joined, "invitation.accepted", user.email, session=session, role=invitation.role)
        tokens = await auth.sign_in(session=session, policy=state.token_policy, user=user)
    return _tokens(tokens)


# --- the audit log -----------------------------------------------------------------------------------------------


@router.get("/v1/audit-log")
async def audit_log(
    request: Request,
    who: Who,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    before: Annotated[int | None, Query(ge=1)] = None,
) -> dict[str, Any]:
    """Privileged actions in the caller's org, newest first: who, from where, what, to what, when; the first page
    counts them (`total`, exact up to 10,000)."""
    query = select(AuditEntry).where(AuditEntry.org_id == uuid.UUID(who.org_id))
    counted: int | None = None
    async with request.app.state.db.transaction() as session:
        if before is None:  # the first page: "Older entries" keeps the total it was shown
            capped = query.with_only_columns(AuditEntry.id).limit(MAX_TOTAL + 1).subquery()
            counted = await session.scalar(select(func.count()).select_from(capped))
        else:
            query = query.where(AuditEntry.id < before)
        rows = list((await session.execute(query.order_by(AuditEntry.id.desc()).limit(limit))).scalars())
    items = [
        {
            "id": e.id,
            "at": e.created_at.isoformat(),
            "actorEmail": e.actor_email,
            "action": e.action,
            "target": e.target,
            "details": e.details,
            "address": e.address,
            "requestId": e.request_id,
        }
        for e in rows
    ]
    return {
        "items": items,
        "before": rows[-1].id if len(rows) == limit else None,
        "total": None if counted is None else min(counted, MAX_TOTAL),
        "totalCapped": counted is not None and counted > MAX_TOTAL,
    }
