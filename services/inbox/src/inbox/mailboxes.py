"""The org's mailboxes: who it sends as, through which SMTP server, within which limits."""

from __future__ import annotations

import datetime as dt
import re
import uuid
import zoneinfo
from dataclasses import dataclass
from typing import Any

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from inbox import emails
from inbox.models import Mailbox, SendCounter
from leadflood_platform.errors import AlreadyExists, FieldViolation, InvalidArgument, NotFound

# A setting's name: where the SMTP password is, never the password itself.
SECRET_REF = re.compile(r"[A-Z_][A-Z0-9_]{0,99}")
MAX_CAP, MAX_SPACING_S = 100_000, 86_400
EDITABLE = (
    "from_name", "smtp_host", "smtp_port", "smtp_starttls", "smtp_username", "smtp_password_ref", "daily_cap",
    "min_spacing_s", "time_zone",
)  # fmt: skip


@dataclass(frozen=True)
class Counted:
    mailbox: Mailbox
    sent_today: int


def _check(values: dict[str, Any]) -> dict[str, Any]:
    """The values with the address normalised, or INVALID_ARGUMENT naming every bad one."""
    problems: list[FieldViolation] = []
    if "from_address" in values:
        try:
            values["from_address"] = validate_email(values["from_address"], check_deliverability=False).normalized
        except EmailNotValidError as exc:
            problems.append(FieldViolation("from_address", str(exc)))
    if "from_name" in values and (emails.has_line_break(values["from_name"]) or len(values["from_name"]) > 200):
        problems.append(FieldViolation("from_name", "at most 200 characters, no line breaks"))
    if "smtp_host" in values and not re.fullmatch(r"[A-Za-z0-9.\-:\[\]]{1,253}", values["smtp_host"]):
        problems.append(FieldViolation("smtp_host", "a host name or address"))
    if "smtp_port" in values and not 1 <= values["smtp_port"] <= 65535:
        problems.append(FieldViolation("smtp_port", "between 1 and 65535"))
    if values.get("smtp_password_ref") and not SECRET_REF.fullmatch(values["smtp_password_ref"]):
        problems.append(
            FieldViolation(
                "smtp_password_ref", "the NAME of the setting holding the password, like SMTP_PASSWORD_SALES"
            )
        )
    if "daily_cap" in values and not 1 <= values["daily_cap"] <= MAX_CAP:
        problems.append(FieldViolation("daily_cap", f"between 1 and {MAX_CAP:,}"))
    if "min_spacing_s" in values and not 0 <= values["min_spacing_s"] <= MAX_SPACING_S:
        problems.append(FieldViolation("min_spacing_s", f"between 0 and {MAX_SPACING_S} seconds"))
    if "time_zone" in values:
        try:
            zoneinfo.ZoneInfo(values["time_zone"])
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            problems.append(FieldViolation("time_zone", "an IANA time zone, like Europe/Berlin"))
    if problems:
        raise InvalidArgument("the mailbox is not valid", problems)
    return values


async def _counted(session: AsyncSession, mailboxes: list[Mailbox], now: dt.datetime) -> list[Counted]:
    """Each mailbox with today's charges, read from the counter its cap is checked against."""
    out = []
    for mailbox in mailboxes:
        today = now.astimezone(zoneinfo.ZoneInfo(mailbox.time_zone)).date()
        counter = await session.get(SendCounter, (mailbox.id, today))
        out.append(Counted(mailbox, counter.sent if counter else 0))
    return out


async def list_all(session: AsyncSession, org_id: uuid.UUID, now: dt.datetime) -> list[Counted]:
    mailboxes = (
        await session.scalars(select(Mailbox).where(Mailbox.org_id == org_id).order_by(Mailbox.created_at))
    ).all()
    return await _counted(session, list(mailboxes), now)


async def create(
    session: AsyncSession, org_id: uuid.UUID, values: dict[str, Any], *, make_default: bool, now: dt.datetime
) -> Counted:
    values = _check(values)
    has_default = await session.scalar(select(Mailbox.id).where(Mailbox.org_id == org_id, Mailbox.is_default))
    if make_default and has_default:
        await session.execute(update(Mailbox).where(Mailbox.org_id == org_id).values(is_default=False))
    mailbox = Mailbox(id=uuid.uuid4(), org_id=org_id, is_default=make_default or has_default is None, **values)
    session.add(mailbox)
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError:
        raise AlreadyExists(f"a mailbox sending as {values['from_address']} exists already") from None
    [counted] = await _counted(session, [mailbox], now)
    return counted


async def update_one(
    session: AsyncSession,
    org_id: uuid.UUID,
    mailbox_id: uuid.UUID,
    changes: dict[str, Any],
    *,
    make_default: bool,
    now: dt.datetime,
) -> Counted:
    changes = _check(changes)
    mailbox = await session.scalar(
        select(Mailbox).where(Mailbox.org_id == org_id, Mailbox.id == mailbox_id).with_for_update()
    )
    if mailbox is None:
        raise NotFound(f"mailbox {mailbox_id} not found")
    if make_default and not mailbox.is_default:
        await session.execute(update(Mailbox).where(Mailbox.org_id == org_id).values(is_default=False))
        await session.flush()
        mailbox.is_default = True
    for name, value in changes.items():
        setattr(mailbox, name, value)
    await session.flush()
    [counted] = await _counted(session, [mailbox], now)
    return counted
