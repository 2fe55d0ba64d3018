"""The audit log of privileged actions: who (and from where), what, to what, when; read by owners and admins."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import Request
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.auth import Principal
from gateway.models import AuditEntry
from leadflood_platform import context


def entry(request: Request, who: Principal, action: str, target: str, **details: Any) -> AuditEntry:
    """An entry for the action the request did; add it in the transaction that does the action."""
    return AuditEntry(
        org_id=uuid.UUID(who.org_id),
        actor_id=uuid.UUID(who.user_id),
        actor_email=who.email,
        action=action,
        target=target,
        details=details,
        address=request.client.host if request.client else None,
        request_id=context.request_id.get() or getattr(request.state, "request_id", None),
    )


async def record(
    request: Request, who: Principal, action: str, target: str, *, session: AsyncSession | None = None, **details: Any
) -> None:
    """Writes an entry: in the caller's transaction when given one, else in one of its own (an action another
    service did, such as a mailbox's change, recorded once it succeeded)."""
    if session is not None:
        session.add(entry(request, who, action, target, **details))
        return
    async with request.app.state.db.transaction() as own:
        own.add(entry(request, who, action, target, **details))
