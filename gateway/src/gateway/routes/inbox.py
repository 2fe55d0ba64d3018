"""The inbox over HTTP: threads newest first with their counts, a thread whole, read/archive, and replies in place."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, Query, Request
from pydantic import Field

from gateway.auth import Principal
from gateway.deps import principal
from gateway.problems import Problem
from gateway.routes.mail import send_outcome
from gateway.routes.schemas import Body, CursorPage, Reply, Timestamps, documents, total_json
from leadflood.inbox.v1 import delivery_pb2, inbox_pb2

router = APIRouter()
Who = Annotated[Principal, Depends(principal)]
FILTERS = {
    "all": inbox_pb2.THREAD_FILTER_UNSPECIFIED,
    "needs_reply": inbox_pb2.THREAD_FILTER_NEEDS_REPLY,
    "unread": inbox_pb2.THREAD_FILTER_UNREAD,
    "archived": inbox_pb2.THREAD_FILTER_ARCHIVED,
}


class UpdateThreadBody(Body):
    unread: bool | None = None
    archived: bool | None = None
    needs_reply: bool | None = None


class ReplyBody(Body):
    text: str = Field(min_length=1, max_length=500_000)


class Thread(Reply):
    id: str
    lead_id: str | None
    lead_address: str | None = Field(description="The lead's address (or number) in the conversation")
    channel: str = Field(description="`email` or `sms`")
    subject: str
    needs_reply: bool
    unread: bool
    archived: bool
    message_count: int
    snippet: str = Field(description="The latest message's first words")
    last_from: str
    last_kind: str = Field(description="What the latest message is: `reply`, `auto_reply`, `bounce`...")
    last_message_at: datetime | None


class ThreadCounts(Reply):
    needs_reply: int = Field(description="Threads not archived that need a reply (the inbox's tab)")
    unread: int = Field(description="Threads not archived that are unread (the inbox's tab)")


class ThreadPage(CursorPage):
    threads: list[Thread] = Field(description="Newest message first")
    counts: ThreadCounts


def _inbox(request: Request) -> Any:
    return request.app.state.services.inbox


def thread_json(thread: inbox_pb2.Thread) -> dict[str, Any]:
    return {
        "id": thread.id,
        "leadId": thread.lead_id or None,
        "leadAddress": thread.lead_address or None,
        "channel": thread.channel,
        "subject": thread.subject,
        "needsReply": thread.needs_reply,
        "unread": thread.unread,
        "archived": thread.archived,
        "messageCount": thread.message_count,
        "snippet": thread.snippet,
        "lastFrom": thread.last_from,
        "lastKind": thread.last_kind,
        **Timestamps.of(thread, "last_message_at"),
    }


def _message_json(message: inbox_pb2.ThreadMessage) -> dict[str, Any]:
    return {
        "id": message.id,
        "direction": message.direction,
        "status": message.status,
        "kind": message.kind or None,
        "from": message.from_address,
        "to": message.to_address,
        "subject": message.subject,
        "text": message.text,
        "messageId": message.rfc822_message_id or None,
        "unknownSender": message.unknown_sender,
        "error": message.error or None,
        "origin": message.origin,
        "attempts": message.attempts,
        **Timestamps.of(message, "created_at", "sent_at"),
    }


@router.get("/v1/inbox/threads", **documents(ThreadPage))
async def list_threads(
    request: Request,
    who: Who,
    filter: Literal["all", "needs_reply", "unread", "archived"] = "all",
    lead_id: Annotated[str, Query(alias="leadId", max_length=100)] = "",
    channel: Literal["", "email", "sms"] = "",
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str, Query(max_length=500)] = "",
) -> dict[str, Any]:
    """The org's conversations under `filter`, newest first; the first page counts those matching (`total`)."""
    reply = await _inbox(request).ListThreads(
        inbox_pb2.ListThreadsRequest(
            filter=FILTERS[filter],
            lead_id=lead_id,
            channel=channel,
            page_size=limit,
            cursor=cursor,
            with_total=not cursor,
        )  # fmt: skip
    )
    return {
        "threads": [thread_json(t) for t in reply.threads],
        "nextCursor": reply.next_cursor or None,
        "counts": {"needsReply": reply.needs_reply_count, "unread": reply.unread_count},
        **total_json(reply),
    }


@router.get("/v1/inbox/threads/{thread_id}")
async def get_thread(thread_id: str, request: Request, who: Who) -> dict[str, Any]:
    reply = await _inbox(request).GetThread(inbox_pb2.GetThreadRequest(thread_id=thread_id))
    return {**thread_json(reply.thread), "messages": [_message_json(m) for m in reply.messages]}


@router.patch("/v1/inbox/threads/{thread_id}")
async def update_thread(thread_id: str, body: UpdateThreadBody, request: Request, who: Who) -> dict[str, Any]:
    changes = body.model_dump(exclude_none=True)
    if not changes:
        raise Problem(422, "nothing to change: send at least one of unread, archived, needsReply")
    reply = await _inbox(request).UpdateThread(inbox_pb2.UpdateThreadRequest(thread_id=thread_id, **changes))
    return thread_json(reply.thread)


@router.post("/v1/inbox/threads/{thread_id}/replies", status_code=202)
async def reply_in_thread(
    thread_id: str,
    body: ReplyBody,
    request: Request,
    who: Who,
    idempotency_key: Annotated[str, Header(min_length=8, max_length=100)],
) -> dict[str, Any]:
    """A reply written in the inbox: to the thread's lead, threaded, through the same delivery path as any send."""
    thread = (await _inbox(request).GetThread(inbox_pb2.GetThreadRequest(thread_id=thread_id))).thread
    if not thread.lead_address:
        raise Problem(409, "this thread has no address to reply to")
    subject = thread.subject if thread.subject.lower().startswith("re:") else f"Re: {thread.subject}"
    reply = await request.app.state.services.delivery.SendMessage(
        delivery_pb2.SendMessageRequest(
            idempotency_key=f"reply:{who.user_id}:{idempotency_key}",
            channel=delivery_pb2.CHANNEL_EMAIL,
            to=delivery_pb2.Recipient(lead_id=thread.lead_id, email=thread.lead_address),
            subject=subject,
            text_body=body.text,
            thread_id=thread_id,
            origin="reply",
        )
    )
    return send_outcome(reply)
