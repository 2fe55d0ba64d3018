"""The mail room over HTTP: send an email, read a message, the recipients' unsubscribe links, the captured mail."""

from __future__ import annotations

import email
import email.policy
import hmac
import html
import time
from datetime import datetime
from typing import Annotated, Any, Literal
from urllib.parse import parse_qsl

from fastapi import APIRouter, Depends, Header, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import Field

from gateway.auth import Principal
from gateway.deps import principal, reads_system_mail
from gateway.problems import Problem
from gateway.routes.schemas import Body, Reply, Timestamps, Totalled, documents, enum_word, total_json
from leadflood.inbox.v1 import delivery_pb2, inbox_pb2

router = APIRouter()
Who = Annotated[Principal, Depends(principal)]
UNSUBSCRIBE_PATH = "/v1/unsubscribe/{token}"


class SendMessageBody(Body):
    channel: Literal["email", "sms"] = "email"
    # An email address, or for a text a phone number (E.164, like +14155550123).
    to: str = Field(min_length=3, max_length=320)
    to_name: str = Field(default="", max_length=200)
    lead_id: str = Field(default="", max_length=100)
    subject: str = Field(default="", max_length=998)
    text: str = Field(min_length=1, max_length=500_000)
    html: str = Field(default="", max_length=500_000)
    thread_id: str = Field(default="", max_length=100)
    dry_run: bool = False
    # Kept in its thread as a draft, never sent (see delivery.proto's SendMessageRequest.draft).
    draft: bool = False


def _inbox(request: Request) -> Any:
    return request.app.state.services.inbox


def _delivery(request: Request) -> Any:
    return request.app.state.services.delivery


def message_json(message: delivery_pb2.Message) -> dict[str, Any]:
    return {
        "id": message.id,
        "threadId": message.thread_id,
        "leadId": message.lead_id or None,
        "status": enum_word(message.status, delivery_pb2.MessageStatus, "MESSAGE_STATUS_"),
        "from": message.from_address,
        "to": message.to_address,
        "subject": message.subject,
        "text": message.text_body,
        "messageId": message.rfc822_message_id,
        "origin": message.origin,
        "error": message.error or None,
        "attempts": [
            {"number": a.number, "result": a.result, "detail": a.detail, **Timestamps.of(a, "at")}
            for a in message.attempts
        ],
        **Timestamps.of(message, "created_at", "sent_at"),
    }


@router.post("/v1/messages", status_code=202)
async def send_message(
    body: SendMessageBody,
    request: Request,
    who: Who,
    idempotency_key: Annotated[str, Header(min_length=8, max_length=100)],
) -> dict[str, Any]:
    """An email or a text sent by hand; the Idempotency-Key header makes a retried POST the same message."""
    sms = body.channel == "sms"
    reply = await _delivery(request).SendMessage(
        delivery_pb2.SendMessageRequest(
            idempotency_key=f"manual:{who.user_id}:{idempotency_key}",
            channel=delivery_pb2.CHANNEL_SMS if sms else delivery_pb2.CHANNEL_EMAIL,
            to=delivery_pb2.Recipient(
                lead_id=body.lead_id, name=body.to_name, **({"phone": body.to} if sms else {"email": body.to})
            ),
            subject=body.subject,
            text_body=body.text,
            html_body=body.html,
            thread_id=body.thread_id,
            dry_run=body.dry_run,
            draft=body.draft,
            origin="manual",
        )
    )
    return send_outcome(reply)


def send_outcome(reply: delivery_pb2.SendMessageResponse) -> dict[str, Any]:
    """A send's answer; a deferral (the mailbox's cap or spacing) is a 429 saying when to come back."""
    outcome = enum_word(reply.outcome, delivery_pb2.SendOutcome, "SEND_OUTCOME_")
    if outcome == "deferred":
        # RFC 9110 10.2.3: the seconds to wait.
        wait = max(1, int(reply.retry_at.seconds - time.time())) if reply.HasField("retry_at") else None
        raise Problem(429, f"not sent: {reply.reason}", headers={"Retry-After": str(wait)} if wait else None)
    return {
        "outcome": outcome,
        "messageId": reply.message_id,
        "threadId": reply.thread_id,
        "rfc822MessageId": reply.rfc822_message_id,
        "status": enum_word(reply.status, delivery_pb2.MessageStatus, "MESSAGE_STATUS_"),
        "reason": reply.reason or None,
        "existing": reply.existing,
    }


@router.get("/v1/messages/{message_id}")
async def get_message(message_id: str, request: Request, who: Who) -> dict[str, Any]:
    reply = await _delivery(request).GetMessage(
        delivery_pb2.GetMessageRequest(message_id=message_id, with_system_mail=reads_system_mail(who))
    )
    return message_json(reply.message)


class SendDraftBody(Body):
    # Edits made on review; left out, the draft goes as it was saved.
    subject: str = Field(default="", max_length=998)
    text: str = Field(default="", max_length=500_000)


@router.post("/v1/messages/{message_id}/send", status_code=202)
async def send_draft(message_id: str, request: Request, who: Who, body: SendDraftBody | None = None) -> dict[str, Any]:
    """A saved draft sent (an availability request a lead run drafted, say), with the edits made on review.
    Sending it twice is one email (`existing`); a message that is not a draft is a 409."""
    body = body or SendDraftBody()
    reply = await _delivery(request).SendDraft(
        delivery_pb2.SendDraftRequest(message_id=message_id, subject=body.subject, text_body=body.text)
    )
    return send_outcome(reply.send)


MAX_INBOUND_BYTES = 25_000_000
INBOUND_PATH = "/v1/inbound/email"


@router.post(INBOUND_PATH, status_code=202)
async def inbound_email(request: Request, authorization: Annotated[str, Header()] = "") -> dict[str, Any]:
    """A received email by webhook: the raw RFC 5322 message as the body, `Authorization: Bearer <secret>`."""
    secret = request.app.state.settings.inbound_email_secret
    if not secret:
        raise Problem(503, "inbound email by webhook is not configured: set INBOUND_EMAIL_SECRET")
    given = authorization.removeprefix("Bearer ").encode()
    if not hmac.compare_digest(given, secret.encode()):  # constant time: the secret cannot be guessed byte by byte
        raise Problem(401, "a valid Authorization: Bearer <INBOUND_EMAIL_SECRET> header is required",
                      headers={"WWW-Authenticate": "Bearer"})  # fmt: skip
    raw = await request.body()
    if not raw.strip():
        raise Problem(422, "send the RFC 5322 message as the request body")
    reply = await _inbox(request).ReceiveEmail(inbox_pb2.ReceiveEmailRequest(raw=raw))
    return {"accepted": reply.accepted, "id": reply.raw_id or None}


SMS_PATH = "/v1/inbound/sms"
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'


@router.post(SMS_PATH)
async def inbound_sms(request: Request, x_twilio_signature: Annotated[str, Header()] = "") -> Response:
    """Twilio's incoming-message webhook. The signature covers the URL Twilio called: the public one, not
    whatever address a proxy forwarded to. A bad signature is a 403 and nothing is kept."""
    # Twilio posts application/x-www-form-urlencoded: read in order, repeated fields kept (the signature covers all).
    form = parse_qsl((await request.body()).decode("utf-8", errors="replace"), keep_blank_values=True)
    url = request.app.state.settings.public_base_url.rstrip("/") + request.url.path
    if request.url.query:
        url += "?" + request.url.query
    fields = [inbox_pb2.FormField(name=name, value=str(value)) for name, value in form]
    await _inbox(request).ReceiveSms(inbox_pb2.ReceiveSmsRequest(url=url, params=fields, signature=x_twilio_signature))
    # Twilio reads the answer as instructions: an empty one sends no reply text.
    return Response(EMPTY_TWIML, media_type="text/xml")


def _page(title: str, body: str) -> HTMLResponse:
    return HTMLResponse(
        "<!doctype html><html lang=en><meta charset=utf-8><meta name=viewport content='width=device-width'>"
        f"<title>{html.escape(title)}</title>"
        "<body style='font-family:system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem'>"
        f"<h1>{html.escape(title)}</h1>{body}</body></html>"
    )


@router.get(UNSUBSCRIBE_PATH, response_class=HTMLResponse)
async def confirm_unsubscribe(token: str, request: Request) -> HTMLResponse:
    """A confirm page that changes nothing: link scanners fetch every link, and must not unsubscribe anyone."""
    reply = await _inbox(request).DescribeUnsubscribe(inbox_pb2.DescribeUnsubscribeRequest(token=token))
    address = html.escape(reply.address)
    if reply.already_unsubscribed:
        return _page("You are unsubscribed", f"<p>{address} receives no more email from us.</p>")
    return _page(
        "Unsubscribe",
        f"<p>Stop all email to <strong>{address}</strong>?</p>"
        f"<form method=post action='{html.escape(request.url.path)}'><button type=submit>Unsubscribe</button></form>",
    )


@router.post(UNSUBSCRIBE_PATH, response_class=HTMLResponse)
async def unsubscribe(token: str, request: Request) -> HTMLResponse:
    """RFC 8058 one-click (a mail client's POST of List-Unsubscribe=One-Click) and the confirm page's button."""
    reply = await _inbox(request).Unsubscribe(inbox_pb2.UnsubscribeRequest(token=token))
    return _page("You are unsubscribed", f"<p>{html.escape(reply.address)} receives no more email from us.</p>")


class CapturedMail(Reply):
    id: int
    from_: str = Field(alias="from")
    to: list[str]
    message_id: str = Field(description="Its `Message-ID` header")
    subject: str
    received_at: datetime | None
    system_mail: bool = Field(description="The product's own mail (an invitation), not outreach: no lead answers it")


class CapturedMailPage(Totalled):
    mail: list[CapturedMail] = Field(description="Newest first")
    before: int | None = Field(description="The `before` of the next page; null on the last")


def _captured_json(mail: inbox_pb2.CapturedMail) -> dict[str, Any]:
    return {
        "id": mail.id,
        "from": mail.mail_from,
        "to": list(mail.rcpt_to),
        "messageId": mail.rfc822_message_id,
        "subject": mail.subject,
        "systemMail": mail.system_mail,
        **Timestamps.of(mail, "received_at"),
    }


@router.get("/v1/captured-mail", **documents(CapturedMailPage))
async def list_captured_mail(request: Request, who: Who, limit: int = 50, before: int | None = None) -> dict[str, Any]:
    """What the local default's SMTP server received of this org's mail, newest first; the first page counts it
    (`total`). Invitation emails only for those who may invite (owners, admins)."""
    if not 1 <= limit <= 200:
        raise Problem(422, "limit must be between 1 and 200")
    reply = await _inbox(request).ListCapturedMail(
        inbox_pb2.ListCapturedMailRequest(
            page_size=limit, before_id=before or 0, with_total=not before, with_system_mail=reads_system_mail(who)
        )
    )
    mail = [_captured_json(m) for m in reply.mail]
    return {"mail": mail, "before": mail[-1]["id"] if len(mail) == limit else None, **total_json(reply)}


class RecipientReplyBody(Body):
    text: str = Field(default="", max_length=100_000)
    out_of_office: bool = False


@router.post("/v1/captured-mail/{mail_id}/reply", status_code=202)
async def reply_as_recipient(mail_id: int, body: RecipientReplyBody, request: Request, who: Who) -> dict[str, Any]:
    """The local default: answer a captured email as its recipient would, into the inbound SMTP listener."""
    reply = await _inbox(request).ReplyAsRecipient(
        inbox_pb2.ReplyAsRecipientRequest(
            captured_mail_id=mail_id,
            text=body.text,
            out_of_office=body.out_of_office,
            with_system_mail=reads_system_mail(who),
        )
    )
    return {"messageId": reply.rfc822_message_id}


@router.get("/v1/captured-mail/{mail_id}")
async def get_captured_mail(mail_id: int, request: Request, who: Who) -> dict[str, Any]:
    """One captured email: every header as received, and its text and HTML parts."""
    reply = await _inbox(request).GetCapturedMail(
        inbox_pb2.GetCapturedMailRequest(id=mail_id, with_system_mail=reads_system_mail(who))
    )
    parsed = email.message_from_bytes(reply.mail.raw, policy=email.policy.default)
    text_part, html_part = parsed.get_body(("plain",)), parsed.get_body(("html",))
    return {
        **_captured_json(reply.mail),
        "headers": [[name, str(value)] for name, value in parsed.items()],
        "text": text_part.get_content() if text_part else "",
        "html": html_part.get_content() if html_part else "",
        "raw": reply.mail.raw.decode("utf-8", errors="replace"),
    }
