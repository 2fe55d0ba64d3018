"""A lead's actions: each once, in order, with a receipt; a redo after a lost lease sends nothing twice; no
slot after the last try drafts an availability request; a dry run sends nothing; a poison lead fails once; a call
task is made in the sequences service's task list, once per lead."""

from __future__ import annotations

import datetime as dt
import uuid
from types import SimpleNamespace

import grpc
import pytest
from sqlalchemy import delete, select, update

from leadflood_platform.db import Database
from leadflood_platform.errors import FailedPrecondition
from runs import actions, calendar, leases, service
from runs.calendar import CalendarSettings
from runs.models import COMPLETED, DONE, FAILED, PENDING, LeadRun, Receipt, RunLead
from runs.quotas import Limits
from services.runs.tests.conftest import StandInContacts, StandInTasks, make_run
from tests.fakes.mail_room import queued

MEETING = {"enabled": True, "provider": "sandbox", "durationMinutes": 30, "windowDays": 5}


def work(
    db: Database,
    inbox: SimpleNamespace,
    busy: str = "never",
    tasks: StandInTasks | None = None,
    contacts: StandInContacts | None = None,
    **policy: int,
) -> actions.LeadActions:
    settings = CalendarSettings(sandbox_calendar_busy=busy)
    provider = calendar.calendar_for("sandbox", settings)
    values = {"calendar_max_attempts": 3, "calendar_backoff_ms": 100, "lead_max_attempts": 5} | policy
    return actions.LeadActions(
        db=db, delivery=inbox.stub, tasks=tasks or StandInTasks(), calendar_for=lambda name: provider,
        contacts=(contacts or StandInContacts()).contacts(), policy=actions.Policy(**values),
    )  # fmt: skip


async def drain(db: Database, lead_actions: actions.LeadActions, *, due_now: bool = False) -> int:
    """Works every claimable lead once; `due_now` first makes every waiting lead due (skips the backoff)."""
    if due_now:
        async with db.transaction() as session:
            await session.execute(
                update(RunLead).where(RunLead.status == PENDING).values(due_at=dt.datetime.now(dt.UTC))
            )
    claimed = await leases.claim(db, worker="test", limit=100, lease_s=60)
    for lead in claimed:
        await lead_actions.work(lead)
    return len(claimed)


async def receipts(db: Database, run_id: uuid.UUID) -> list[Receipt]:
    async with db.transaction() as session:
        query = select(Receipt).where(Receipt.run_id == run_id).order_by(Receipt.created_at)
        return list((await session.execute(query)).scalars())


async def run_state(db: Database, run_id: uuid.UUID) -> str:
    async with db.transaction() as session:
        return (await session.execute(select(LeadRun.state).where(LeadRun.id == run_id))).scalar_one()


async def test_each_lead_is_booked_emailed_and_called_once_and_the_run_completes(
    db: Database, inbox: SimpleNamespace
) -> None:
    run, leads = await make_run(db, uuid.uuid4(), leads=3, calendar=MEETING, call=True)
    tasks = StandInTasks()
    assert await drain(db, work(db, inbox, tasks=tasks)) == 3
    found = await receipts(db, run.id)
    assert sorted((r.kind, r.status) for r in found) == sorted(
        [("meeting", "booked"), ("email", "sent"), ("call_task", "created")] * 3
    )
    # A meeting's times are times, not text: the reader's browser says them in its own zone and words.
    for meeting in (r for r in found if r.kind == "meeting"):
        assert meeting.starts_at and meeting.ends_at - meeting.starts_at == dt.timedelta(minutes=30)
        assert meeting.detail == "" and meeting.target.startswith("https://")
    # Each call task is in the sequences service's task list (where Tasks lists it), its receipt naming it.
    assert sorted(tasks.tasks) == sorted(f"runs:{run.id}:{lead}:call_task" for lead in leads)
    assert {r.target for r in found if r.kind == "call_task"} == {t.id for t in tasks.tasks.values()}
    assert all(t.run_id == str(run.id) and t.title.startswith("Call Lead") for t in tasks.tasks.values())
    assert sorted(inbox.servicer.keys()) == sorted(f"runs:{run.id}:{lead}:email" for lead in leads)
    sent = inbox.servicer.requests[0]
    assert "I've put a call on our calendars" in sent.text_body and not sent.draft and not sent.dry_run
    assert await run_state(db, run.id) == COMPLETED


async def test_a_lead_redone_after_its_receipts_were_lost_sends_nothing_twice(
    db: Database, inbox: SimpleNamespace
) -> None:
    run, leads = await make_run(db, uuid.uuid4(), leads=2, calendar=MEETING)
    lead_actions = work(db, inbox)
    [first, second] = await leases.claim(db, worker="dies", limit=2, lease_s=60)
    await lead_actions.work(first)
    # The worker died after the mail room took the email, before its receipt: the lead comes back as it was.
    async with db.transaction() as session:
        await session.execute(delete(Receipt).where(Receipt.run_lead_id == first.id, Receipt.kind == "email"))
        await session.execute(
            update(RunLead).where(RunLead.id.in_([first.id, second.id])).values(status=PENDING, lease_token=None)
        )
    assert await drain(db, lead_actions) == 2
    assert len(inbox.servicer.messages) == 2  # the mail room holds one message per lead
    assert inbox.servicer.keys().count(f"runs:{run.id}:{first.lead_id}:email") == 2  # asked twice, same key
    assert len([r for r in await receipts(db, run.id) if r.kind == "email"]) == 2


async def test_no_slot_is_tried_with_backoff_then_an_availability_request_is_drafted(
    db: Database, inbox: SimpleNamespace
) -> None:
    run, [lead] = await make_run(db, uuid.uuid4(), leads=1, calendar=MEETING)
    lead_actions = work(db, inbox, busy="always")
    dues = []
    for _ in range(3):
        assert await drain(db, lead_actions, due_now=True) == 1
        async with db.transaction() as session:
            row = (await session.execute(select(RunLead).where(RunLead.run_id == run.id))).scalar_one()
        dues.append((row.status, row.calendar_attempts))
    assert dues == [(PENDING, 1), (PENDING, 2), (DONE, 3)]
    found = [(r.kind, r.status, r.attempt) for r in await receipts(db, run.id)]
    assert found[:3] == [("meeting", "no_slot", 1), ("meeting", "no_slot", 2), ("meeting", "no_slot", 3)]
    searched = [r for r in await receipts(db, run.id) if r.status == "no_slot"]
    assert all(r.detail == "no free 30-minute slot" and r.starts_at < r.ends_at for r in searched)
    # Each try looks further ahead: the span searched grows.
    spans = [r.ends_at - r.starts_at for r in searched]
    assert spans[0] < spans[1] < spans[2], spans
    assert found[3][:2] == ("availability_email", "drafted")
    [request] = inbox.servicer.requests
    assert request.draft and request.idempotency_key == f"runs:{run.id}:{lead}:availability_email"


async def test_a_dry_run_books_nothing_and_the_mail_room_only_simulates(db: Database, inbox: SimpleNamespace) -> None:
    run, _ = await make_run(db, uuid.uuid4(), leads=2, calendar=MEETING, dry_run=True, call=True)
    tasks = StandInTasks()
    assert await drain(db, work(db, inbox, tasks=tasks)) == 2
    found = await receipts(db, run.id)
    assert found and all(r.simulated and r.status == "simulated" for r in found)
    assert all(request.dry_run and not request.draft for request in inbox.servicer.requests)
    assert tasks.requests == []  # no task for anyone to do
    assert all(r.detail.startswith("Call Lead") for r in found if r.kind == "call_task")


async def test_a_mail_room_away_puts_the_lead_back_and_a_poison_lead_fails_once(
    db: Database, inbox: SimpleNamespace
) -> None:
    run, _ = await make_run(db, uuid.uuid4(), leads=1)
    inbox.servicer.answer = lambda request: grpc.StatusCode.UNAVAILABLE
    lead_actions = work(db, inbox, lead_max_attempts=3)
    for attempt in range(1, 4):
        assert await drain(db, lead_actions, due_now=True) == 1
        async with db.transaction() as session:
            row = (await session.execute(select(RunLead).where(RunLead.run_id == run.id))).scalar_one()
        if attempt < 3:
            assert (row.status, row.attempts) == (PENDING, attempt) and "mail room" in row.error
    assert row.status == FAILED and "gave up after 3 tries" in row.error
    assert await drain(db, lead_actions, due_now=True) == 0  # failed once, never claimed again
    assert await run_state(db, run.id) == FAILED


async def test_a_failed_lead_tried_again_runs_once_more_and_a_second_retry_is_refused(
    db: Database, inbox: SimpleNamespace
) -> None:
    org = uuid.uuid4()
    run, [lead] = await make_run(db, org, leads=1)
    inbox.servicer.answer = lambda request: grpc.StatusCode.UNAVAILABLE
    lead_actions = work(db, inbox, lead_max_attempts=1)
    assert await drain(db, lead_actions) == 1
    assert await run_state(db, run.id) == FAILED  # its only lead failed

    inbox.servicer.answer = queued  # the mail room is back
    limits = Limits(max_runs_per_day=100, max_leads_per_day=1000, max_active_runs=3)
    async with db.transaction() as session:
        reopened, again = await service.retry_lead(session, org_id=org, run_id=run.id, lead_id=lead, limits=limits)
        assert (reopened.state, again.status, again.attempts) == ("running", PENDING, 0)
    with pytest.raises(FailedPrecondition, match="only a failed lead"):
        async with db.transaction() as session:
            await service.retry_lead(session, org_id=org, run_id=run.id, lead_id=lead, limits=limits)
    assert await drain(db, lead_actions) == 1
    assert await run_state(db, run.id) == COMPLETED
    assert len(inbox.servicer.messages) == 1  # one email, however often it was asked for


async def test_a_lead_whose_every_action_was_refused_tried_again_does_them_again_and_keeps_both_receipts(
    db: Database, inbox: SimpleNamespace
) -> None:
    org = uuid.uuid4()
    run, [lead] = await make_run(db, org, leads=1)
    inbox.servicer.answer = lambda request: grpc.StatusCode.INVALID_ARGUMENT  # say the lead's address was bad
    lead_actions = work(db, inbox)
    assert await drain(db, lead_actions) == 1
    assert await run_state(db, run.id) == FAILED and not inbox.servicer.messages

    limits = Limits(max_runs_per_day=100, max_leads_per_day=1000, max_active_runs=3)
    with pytest.raises(FailedPrecondition, match="the lead was deleted"):  # gone from the leads service
        async with db.transaction() as session:
            await service.retry_lead(session, org_id=org, run_id=run.id, lead_id=lead, limits=limits, deleted=True)
    inbox.servicer.answer = queued  # the lead put right: the mail room takes it now
    async with db.transaction() as session:
        await service.retry_lead(session, org_id=org, run_id=run.id, lead_id=lead, limits=limits)
    assert await drain(db, lead_actions) == 1
    assert await run_state(db, run.id) == COMPLETED
    assert len(inbox.servicer.messages) == 1
    # The refusal and the send, each its own receipt (the new try numbered after the old one, not dropped as its
    # duplicate), and the lead done.
    emails = [(r.status, r.attempt) for r in await receipts(db, run.id) if r.kind == "email"]
    assert emails == [("failed", 1), ("sent", 2)]
    async with db.transaction() as session:
        row = (await session.execute(select(RunLead).where(RunLead.run_id == run.id))).scalar_one()
    assert (row.status, row.error) == (DONE, None)


async def test_a_done_lead_whose_email_failed_is_tried_again_for_the_email_alone(
    db: Database, inbox: SimpleNamespace
) -> None:
    """Its call task made and its email refused, the lead is done but not everything went: it can be tried again,
    the email alone is done again, and the run's figures and the lead's outcomes read as things last ended."""
    org = uuid.uuid4()
    run, [lead] = await make_run(db, org, leads=1, call=True)
    tasks = StandInTasks()
    inbox.servicer.answer = lambda request: grpc.StatusCode.INVALID_ARGUMENT
    lead_actions = work(db, inbox, tasks=tasks)
    assert await drain(db, lead_actions) == 1
    assert await run_state(db, run.id) == COMPLETED
    async with db.transaction() as session:
        [row], outcomes = await service.run_leads(session, org_id=org, run_id=run.id, status="", size=10, after=0)
        assert row.status == DONE and sorted(outcomes[row.id]) == ["call_task:created", "email:failed"]
        assert (await service.progress(session, [run.id]))[run.id].failed_actions == 1

    inbox.servicer.answer = queued
    limits = Limits(max_runs_per_day=100, max_leads_per_day=1000, max_active_runs=3)
    async with db.transaction() as session:
        await service.retry_lead(session, org_id=org, run_id=run.id, lead_id=lead, limits=limits)
    assert await drain(db, lead_actions) == 1
    assert len(inbox.servicer.messages) == 1 and len(tasks.tasks) == 1 and len(tasks.requests) == 1
    async with db.transaction() as session:
        [row], outcomes = await service.run_leads(session, org_id=org, run_id=run.id, status="", size=10, after=0)
        assert row.status == DONE and sorted(outcomes[row.id]) == ["call_task:created", "email:sent"]
        assert (await service.progress(session, [run.id]))[run.id].failed_actions == 0
    with pytest.raises(FailedPrecondition, match="only a failed lead"):  # nothing left that failed
        async with db.transaction() as session:
            await service.retry_lead(session, org_id=org, run_id=run.id, lead_id=lead, limits=limits)


class RefusingCalendar:
    """The sandbox calendar, refusing every booking while `refuse` is set (a calendar that does not take the
    attendee, say): a failed meeting, not a fault to retry."""

    def __init__(self) -> None:
        self.inner = calendar.calendar_for("sandbox", CalendarSettings(sandbox_calendar_busy="never"))
        self.refuse = True

    async def book(self, *args: object, **options: object) -> object:
        if self.refuse:
            raise ValueError("the calendar refused the attendee")
        return await self.inner.book(*args, **options)

    async def find_slot(self, *args: object, **options: object) -> object:
        return await self.inner.find_slot(*args, **options)


async def test_a_lead_tried_again_after_its_meeting_failed_books_it_and_keeps_the_receipt(
    db: Database, inbox: SimpleNamespace
) -> None:
    org = uuid.uuid4()
    run, [lead] = await make_run(db, org, leads=1, calendar=MEETING)
    refusing = RefusingCalendar()
    lead_actions = actions.LeadActions(
        db=db, delivery=inbox.stub, tasks=StandInTasks(), calendar_for=lambda name: refusing,
        contacts=StandInContacts().contacts(),
        policy=actions.Policy(calendar_max_attempts=3, calendar_backoff_ms=100, lead_max_attempts=5),
    )  # fmt: skip
    inbox.servicer.answer = lambda request: grpc.StatusCode.INVALID_ARGUMENT
    assert await drain(db, lead_actions) == 1
    assert await run_state(db, run.id) == FAILED

    refusing.refuse, inbox.servicer.answer = False, queued
    limits = Limits(max_runs_per_day=100, max_leads_per_day=1000, max_active_runs=3)
    async with db.transaction() as session:
        await service.retry_lead(session, org_id=org, run_id=run.id, lead_id=lead, limits=limits)
    assert await drain(db, lead_actions) == 1
    assert await run_state(db, run.id) == COMPLETED
    # The booking and the email that names it, each beside the first try's failure (none dropped as its double).
    ended = sorted((r.kind, r.status, r.attempt) for r in await receipts(db, run.id))
    assert ended == [("email", "failed", 1), ("email", "sent", 2), ("meeting", "booked", 2), ("meeting", "failed", 1)]
    assert len(inbox.servicer.messages) == 1


async def test_a_call_task_is_made_once_and_a_task_list_away_puts_the_lead_back(
    db: Database, inbox: SimpleNamespace
) -> None:
    run, [lead] = await make_run(db, uuid.uuid4(), leads=1, call=True, email="off")
    tasks = StandInTasks()
    tasks.refuse = grpc.StatusCode.UNAVAILABLE
    lead_actions = work(db, inbox, tasks=tasks)
    assert await drain(db, lead_actions) == 1
    async with db.transaction() as session:
        row = (await session.execute(select(RunLead).where(RunLead.run_id == run.id))).scalar_one()
    assert (row.status, row.attempts) == (PENDING, 1) and "task list" in row.error
    assert tasks.tasks == {}

    tasks.refuse = None  # back: the lead is done, its task made once however often it was asked
    assert await drain(db, lead_actions, due_now=True) == 1
    [receipt] = [r for r in await receipts(db, run.id) if r.kind == "call_task"]
    assert (receipt.status, receipt.target) == ("created", tasks.tasks[f"runs:{run.id}:{lead}:call_task"].id)
    assert await run_state(db, run.id) == COMPLETED


async def test_a_call_task_the_task_list_refuses_fails_that_action_alone(db: Database, inbox: SimpleNamespace) -> None:
    run, _ = await make_run(db, uuid.uuid4(), leads=1, call=True)
    tasks = StandInTasks()
    tasks.refuse = grpc.StatusCode.NOT_FOUND  # the lead was deleted meanwhile, say
    assert await drain(db, work(db, inbox, tasks=tasks)) == 1
    found = {r.kind: r for r in await receipts(db, run.id)}
    assert found["email"].status == "sent"
    assert found["call_task"].status == "failed" and "the task list refused it" in (found["call_task"].error or "")
    assert await run_state(db, run.id) == COMPLETED


class RefusingMailRoom:
    """The mail room refusing every message as its `validate` does: INVALID_ARGUMENT with a BadRequest naming
    each field at fault."""

    def __init__(self, *violations: tuple[str, str]) -> None:
        self.violations, self.requests = violations, []

    async def SendMessage(self, request, **options):  # type: ignore[no-untyped-def]
        from google.rpc import code_pb2, error_details_pb2, status_pb2

        self.requests.append(request)
        bad = error_details_pb2.BadRequest(
            field_violations=[
                error_details_pb2.BadRequest.FieldViolation(field=name, description=why)
                for name, why in self.violations
            ]
        )
        status = status_pb2.Status(code=code_pb2.INVALID_ARGUMENT, message="the message cannot be sent as given")
        status.details.add().Pack(bad)
        trailing = grpc.aio.Metadata(("grpc-status-details-bin", status.SerializeToString()))
        raise grpc.aio.AioRpcError(
            grpc.StatusCode.INVALID_ARGUMENT, grpc.aio.Metadata(), trailing, details=status.message
        )


@pytest.mark.parametrize("dry_run", [False, True])
async def test_a_run_whose_every_email_is_refused_fails_saying_which_field(
    db: Database, inbox: SimpleNamespace, dry_run: bool
) -> None:
    run, _ = await make_run(db, uuid.uuid4(), leads=2, dry_run=dry_run)
    refusing = RefusingMailRoom(("subject", "at most 998 characters"))
    lead_actions = work(db, inbox)
    lead_actions.delivery = refusing
    assert await drain(db, lead_actions) == 2
    assert len(refusing.requests) == 2
    found = await receipts(db, run.id)
    assert [(r.status, r.error) for r in found] == [
        ("failed", "the mail room refused the subject: at most 998 characters")
    ] * 2
    async with db.transaction() as session:
        progress = (await service.progress(session, [run.id]))[run.id]
        leads = (await session.execute(select(RunLead.status, RunLead.error).where(RunLead.run_id == run.id))).all()
    # A refused email is a failure, dry run or not: never counted as simulated.
    assert (progress.failed, progress.done, progress.simulated, progress.failed_actions) == (2, 0, 0, 2)
    assert {tuple(lead) for lead in leads} == {
        (FAILED, "every action failed: the mail room refused the subject: at most 998 characters")
    }
    assert await run_state(db, run.id) == FAILED


async def test_a_call_task_for_a_lead_with_no_phone_is_skipped(db: Database, inbox: SimpleNamespace) -> None:
    run, _ = await make_run(db, uuid.uuid4(), leads=1, call=True, phones=False)
    tasks = StandInTasks()
    assert await drain(db, work(db, inbox, tasks=tasks)) == 1
    found = {r.kind: r for r in await receipts(db, run.id)}
    assert (found["call_task"].status, found["call_task"].detail) == ("skipped", "the lead has no phone number")
    assert tasks.requests == [] and found["email"].status == "sent"
    assert await run_state(db, run.id) == COMPLETED
