"""Leads a lead run leaves alone because the org is already talking to them: a lead in a sequence now (an
enrollment active or paused, asked of the sequences service, which owns enrollments) or in an email conversation
lately (an email sent to them or a reply from them in the run's last `days` days, asked of the mail room, which
owns messages). A cold email to either would land in the middle of what is going on.

Asked twice: at sourcing for every lead found, in batches by lead (so the run's count of leads is right, and an org's
months of mail are never read whole), and again for
one lead just before its first action (it may have been enrolled or have replied meanwhile). Every call has the
deadline given here; the channel retries UNAVAILABLE (leadflood_platform.grpc_client), and a fault beyond that is
the caller's to retry (the sourcing job, or the lead back in the queue).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from leadflood.inbox.v1 import inbox_pb2, inbox_pb2_grpc, stats_pb2, stats_pb2_grpc
from leadflood.sequences.v1 import sequences_pb2, sequences_pb2_grpc

DEFAULT_DAYS = 30
MAX_DAYS = 90  # the mail room's message lists look back at most this far
BATCH = 500  # lead ids a ListLeadsInSequences or ListMessages call takes at most
PAGE = 200  # the mail room's ListMessages page at most
STATE_WORDS = {
    sequences_pb2.ENROLLMENT_STATE_ACTIVE: "active",
    sequences_pb2.ENROLLMENT_STATE_PAUSED: "paused",
}
# What a conversation's message was, in words, by the mail room's category: an email still on its way counts (a run
# right after another must not email its leads again while the first run's emails wait for their server).
CONVERSATION = {stats_pb2.MESSAGE_CATEGORY_EMAILED: "emailed", stats_pb2.MESSAGE_CATEGORY_REPLIED: "replied"}


def in_sequence(name: str, state: int) -> str:
    return f'already in the sequence "{name}" ({STATE_WORDS.get(state, "going")})'


def in_conversation(what: str, at: dt.datetime, days: int) -> str:
    return f"in a conversation: {what} on {at:%Y-%m-%d}, within the last {days} days"


@dataclass(frozen=True)
class Contacts:
    sequences: sequences_pb2_grpc.SequencesServiceStub
    threads: inbox_pb2_grpc.InboxServiceStub
    messages: stats_pb2_grpc.InboxStatsServiceStub
    timeout_s: float

    async def in_sequences(self, lead_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, str]:
        """Why each of these leads that is in a sequence now is left out, in words."""
        ids, found = [str(lead_id) for lead_id in lead_ids], {}
        for first in range(0, len(ids), BATCH):
            request = sequences_pb2.ListLeadsInSequencesRequest(lead_ids=ids[first : first + BATCH])
            reply = await self.sequences.ListLeadsInSequences(request, timeout=self.timeout_s)
            for lead in reply.leads:
                found[uuid.UUID(lead.lead_id)] = in_sequence(lead.sequence_name, lead.state)
        return found

    async def conversations(self, lead_ids: Iterable[uuid.UUID], days: int) -> dict[uuid.UUID, str]:
        """Why each of these leads the org emailed or heard from in the last `days` days is left out: its latest
        such message (asked of their conversations alone, in batches, newest first, a page at a time)."""
        ids, found = [str(lead_id) for lead_id in lead_ids], {}
        for first in range(0, len(ids), BATCH):
            for category, what in CONVERSATION.items():
                request = stats_pb2.ListMessagesRequest(
                    category=category, window=stats_pb2.StatsWindow(days=days), page_size=PAGE,
                    lead_ids=ids[first : first + BATCH],
                )  # fmt: skip
                while True:
                    reply = await self.messages.ListMessages(request, timeout=self.timeout_s)
                    for message in reply.messages:
                        if not message.lead_id:
                            continue
                        at = message.at.ToDatetime(tzinfo=dt.UTC)
                        lead_id = uuid.UUID(message.lead_id)
                        if lead_id not in found or found[lead_id][0] < at:
                            found[lead_id] = (at, what)
                    if not reply.next_cursor:
                        break
                    request.cursor = reply.next_cursor
        return {lead_id: in_conversation(what, at, days) for lead_id, (at, what) in found.items()}

    async def lately(self, lead_id: uuid.UUID, days: int, *, now: dt.datetime, conversations: bool) -> str | None:
        """Why this one lead is left out now, or None: in a sequence, or (`conversations`) a conversation (its
        threads, archived ones too) with a message in the last `days` days."""
        if reason := (await self.in_sequences([lead_id])).get(lead_id):
            return reason
        if not conversations:
            return None
        since = now - dt.timedelta(days=days)
        for which in (inbox_pb2.THREAD_FILTER_UNSPECIFIED, inbox_pb2.THREAD_FILTER_ARCHIVED):
            # Email threads, as at sourcing (the mail room's message lists count emails).
            request = inbox_pb2.ListThreadsRequest(filter=which, lead_id=str(lead_id), channel="email", page_size=1)
            reply = await self.threads.ListThreads(request, timeout=self.timeout_s)
            for thread in reply.threads:  # the latest first
                at = thread.last_message_at.ToDatetime(tzinfo=dt.UTC)
                if at >= since:
                    return in_conversation("a message", at, days)
        return None
