"""Mailboxes over HTTP: who the org sends as, through which SMTP server, within which limits."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from pydantic import Field

from gateway import audit
from gateway.auth import Principal
from gateway.deps import principal
from gateway.problems import Problem
from gateway.routes.schemas import Body, Int32
from leadflood.inbox.v1 import inbox_pb2

router = APIRouter()
Who = Annotated[Principal, Depends(principal)]


class MailboxSettings(Body):
    from_name: str | None = Field(default=None, max_length=200)
    smtp_host: str | None = Field(default=None, max_length=253)
    smtp_port: Int32 | None = None
    smtp_starttls: bool | None = None
    smtp_username: str | None = Field(default=None, max_length=200)
    smtp_password_ref: str | None = Field(default=None, max_length=100)
    daily_cap: Int32 | None = None
    min_spacing_s: Int32 | None = None
    time_zone: str | None = Field(default=None, max_length=64)
    make_default: bool | None = None


class NewMailbox(MailboxSettings):
    from_address: str = Field(min_length=3, max_length=320)
    smtp_host: str = Field(min_length=1, max_length=253)
    smtp_port: Int32 = 587
    smtp_starttls: bool = True
    daily_cap: Int32 = 200
    min_spacing_s: Int32 = 0
    time_zone: str = "UTC"


def mailbox_json(m: inbox_pb2.Mailbox) -> dict[str, Any]:
    return {
        "id": m.id,
        "fromAddress": m.from_address,
        "fromName": m.from_name,
        "smtpHost": m.smtp_host,
        "smtpPort": m.smtp_port,
        "smtpStarttls": m.smtp_starttls,
        "smtpUsername": m.smtp_username,
        "smtpPasswordRef": m.smtp_password_ref or None,
        "dailyCap": m.daily_cap,
        "minSpacingS": m.min_spacing_s,
        "timeZone": m.time_zone,
        "isDefault": m.is_default,
        "sentToday": m.sent_today,
    }


def _inbox(request: Request) -> Any:
    return request.app.state.services.inbox


@router.get("/v1/mailboxes")
async def list_mailboxes(request: Request, who: Who) -> dict[str, Any]:
    reply = await _inbox(request).ListMailboxes(inbox_pb2.ListMailboxesRequest())
    return {"mailboxes": [mailbox_json(m) for m in reply.mailboxes]}


@router.post("/v1/mailboxes", status_code=201)
async def create_mailbox(body: NewMailbox, request: Request, who: Who) -> dict[str, Any]:
    values = body.model_dump(exclude_none=True)
    make_default = values.pop("make_default", False)
    reply = await _inbox(request).CreateMailbox(
        inbox_pb2.CreateMailboxRequest(mailbox=inbox_pb2.Mailbox(**values), make_default=make_default)
    )
    await audit.record(request, who, "mailbox.created", reply.mailbox.from_address, smtpHost=reply.mailbox.smtp_host)
    return mailbox_json(reply.mailbox)


@router.patch("/v1/mailboxes/{mailbox_id}")
async def update_mailbox(mailbox_id: str, body: MailboxSettings, request: Request, who: Who) -> dict[str, Any]:
    changes = body.model_dump(exclude_none=True)
    if not changes:
        raise Problem(422, "nothing to change: send at least one setting")
    reply = await _inbox(request).UpdateMailbox(inbox_pb2.UpdateMailboxRequest(mailbox_id=mailbox_id, **changes))
    await audit.record(request, who, "mailbox.changed", reply.mailbox.from_address, settings=sorted(changes))
    return mailbox_json(reply.mailbox)
