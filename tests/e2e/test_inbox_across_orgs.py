"""The mail room end to end, where orgs meet: two orgs write to the same person, and what comes back found by its
sender (a reply without threading headers, a bounce naming only the address, a STOP) reaches the org it answers,
told by the mailbox or number it was sent to, or no org at all when both wrote from the same one (the local
default's mailbox, the deployment's Twilio number). Also: a text the provider refuses for good is handled, never a
dead letter; a bounce brings its conversation up unread; an out-of-office written with nothing says something;
an invitation carries no unsubscribe link. Sends are counted by the servers that received them (the witness SMTP
server, the Twilio fake's request log), the inbound filing by the mail room's own record of each raw message."""

from __future__ import annotations

import uuid
from email.message import EmailMessage
from email.utils import formatdate
from typing import Any
from urllib.parse import parse_qsl

import httpx
import pytest

from conftest import OPTED_OUT_NUMBER, TWILIO_FROM
from devstack.stack import Stack
from tests.e2e.helpers import OrgUser, db_value, org_user, unique_email, until
from tests.e2e.test_sms import _number
from tests.fakes.smtp_witness import Witness
from tests.fakes.twilio import FakeTwilio, incoming_sms

SECRET = "test-inbound-secret-0123456789"
SHARED = "outreach@leadflood.local"  # the local default: every org's mailbox


def _filed_as(stack: Stack, message_id: str) -> str | None:
    """What the mail room made of an inbound email (processed, ambiguous, unmatched...), once it has."""
    status = db_value(stack, "SELECT status FROM inbox.inbound_raw WHERE dedup_key = $1", f"id:{message_id}")
    return None if status in (None, "pending") else status


def _lead(user: OrgUser, email: str, **fields: str) -> str:
    made = user.client.post("/v1/leads", json={"email": email, "firstName": "Dana", "lastName": "Kim", **fields})
    assert made.status_code == 201, made.text
    return made.json()["leadId"]


def _send(user: OrgUser, **body: Any) -> dict[str, Any]:
    sent = user.client.post("/v1/messages", json=body, headers={"idempotency-key": uuid.uuid4().hex})
    assert sent.status_code == 202 and sent.json()["outcome"] == "queued", sent.text
    return sent.json()


def _status(user: OrgUser, sent: dict[str, Any]) -> str:
    return user.client.get(f"/v1/messages/{sent['messageId']}").json()["status"]


def _thread(user: OrgUser, sent: dict[str, Any]) -> dict[str, Any]:
    return user.client.get(f"/v1/inbox/threads/{sent['threadId']}").json()


def _answer(frm: str, to: str, subject: str, text: str, **headers: str) -> EmailMessage:
    """An email as a person's mail client sends it: without In-Reply-To or References unless given."""
    answer = EmailMessage()
    answer["From"], answer["To"], answer["Subject"] = frm, to, subject
    answer["Date"], answer["Message-ID"] = formatdate(), f"<{uuid.uuid4().hex}@mail.example>"
    for name, value in headers.items():
        answer[name.replace("_", "-")] = value
    answer.set_content(text)
    return answer


def _webhook(base_url: str, message: EmailMessage) -> str:
    taken = httpx.post(
        f"{base_url}/v1/inbound/email", content=bytes(message), headers={"authorization": f"Bearer {SECRET}"}
    )
    assert taken.status_code == 202 and taken.json()["accepted"], taken.text
    return str(message["Message-ID"])


def _failure_notice(to: str, failed: str) -> EmailMessage:
    """A mail server's failure notice naming the address but not our message's Message-ID (no DSN part)."""
    notice = _answer("MAILER-DAEMON@mx.example.net", to, "Undeliverable: Tuesday?", "")
    notice.set_content(f"Your message could not be delivered to {failed}.\n\n550 5.1.1 {failed}: user unknown\n")
    return notice


def _suppressed(user: OrgUser, q: str) -> list[tuple[str, str]]:
    listed = user.client.get("/v1/suppressions", params={"q": q}).json()["suppressions"]
    return [(s["address"], s["reason"]) for s in listed]


def _texts_to(fake: FakeTwilio, number: str) -> list[str]:
    """Every text Twilio was asked to send to `number` (its request log, refused ones included): the witness."""
    asked = [dict(parse_qsl(r.body.decode())) for r in fake.received if r.method == "POST"]
    return [form.get("Body", "") for form in asked if form.get("To") == number]


@pytest.fixture
def acme(stack: Stack, base_url: str) -> Any:
    with org_user(stack, base_url, "acme") as user:
        yield user


@pytest.fixture
def globex(stack: Stack, base_url: str) -> Any:
    with org_user(stack, base_url, "globex") as user:
        yield user


def test_a_reply_found_by_its_sender_reaches_the_org_whose_mailbox_it_was_sent_to(
    stack: Stack, base_url: str, acme: OrgUser, globex: OrgUser, witness: tuple[Witness, int]
) -> None:
    server, port = witness
    dana = unique_email("dana")
    own = f"sales-{uuid.uuid4().hex[:8]}@globex.example"  # Globex's own mailbox; Acme sends from the local default
    made = globex.client.post("/v1/mailboxes", json={"fromAddress": own, "smtpHost": "127.0.0.1", "smtpPort": port,
                                                     "smtpStarttls": False, "dailyCap": 100})  # fmt: skip
    assert made.status_code == 201, made.text
    ours = _send(acme, to=dana, leadId=_lead(acme, dana), subject="Tuesday?", text="Free on Tuesday?")
    theirs = _send(globex, to=dana, leadId=_lead(globex, dana), subject="Tuesday?", text="Coffee on Tuesday?")
    until(lambda: theirs["rfc822MessageId"] in server.accepted, what="Globex's email at its own server")
    until(lambda: _status(acme, ours) == "sent", what="Acme's email sent")

    to_globex = _webhook(base_url, _answer(dana, own, "Re: Tuesday?", "Coffee it is."))
    assert until(lambda: _filed_as(stack, to_globex), what="the answer filed") == "processed"
    to_acme = _webhook(base_url, _answer(dana, SHARED, "Re: Tuesday?", "Tuesday works."))
    assert until(lambda: _filed_as(stack, to_acme), what="the answer filed") == "processed"
    assert [m["text"] for m in _thread(globex, theirs)["messages"]] == ["Coffee on Tuesday?", "Coffee it is."]
    assert [m["text"] for m in _thread(acme, ours)["messages"]] == ["Free on Tuesday?", "Tuesday works."]
    assert server.accepted.count(theirs["rfc822MessageId"]) == 1


def test_what_two_orgs_sent_from_the_shared_mailbox_and_number_is_filed_and_suppressed_in_neither(
    stack: Stack, base_url: str, acme: OrgUser, globex: OrgUser, fake_twilio: FakeTwilio
) -> None:
    dana, phone = unique_email("dana"), _number()
    orgs = ((acme, "Acme"), (globex, "Globex"))
    emailed = [
        _send(user, to=dana, leadId=_lead(user, dana, phone=phone), subject="Tuesday?", text=f"Hi from {name}")
        for user, name in orgs
    ]
    texted = [_send(user, channel="sms", to=phone, text=f"Hi from {name}") for user, name in orgs]
    for user, sent in zip((acme, globex, acme, globex), (*emailed, *texted), strict=True):
        until(lambda u=user, s=sent: _status(u, s) == "sent", what="each org's email and text sent")
    assert sorted(_texts_to(fake_twilio, phone)) == ["Hi from Acme", "Hi from Globex"]

    reply = _webhook(base_url, _answer(dana, SHARED, "Re: Tuesday?", "Which of you is this?"))
    bounce = _webhook(base_url, _failure_notice(SHARED, dana))
    stop = incoming_sms(f"{stack.url}/v1/inbound/sms", to_number=TWILIO_FROM, from_number=phone, body="STOP")
    answered = httpx.post(f"{base_url}/v1/inbound/sms", content=stop.body, headers=stop.headers)
    assert answered.status_code == 200, answered.text
    for message_id in (reply, bounce):
        assert until(lambda m=message_id: _filed_as(stack, m), what="filed") == "ambiguous"
    text_key = f"sms:{dict(stop.params)['MessageSid']}"
    assert db_value(stack, "SELECT status FROM inbox.inbound_raw WHERE dedup_key = $1", text_key) == "ambiguous"
    for user, sent in ((acme, emailed[0]), (globex, emailed[1]), (acme, texted[0]), (globex, texted[1])):
        assert _thread(user, sent)["messageCount"] == 1 and _status(user, sent) == "sent"
        assert _suppressed(user, dana) == [] and _suppressed(user, phone) == []


def test_a_stop_from_a_number_one_org_texted_suppresses_it_there_alone(
    stack: Stack, base_url: str, acme: OrgUser, globex: OrgUser, fake_twilio: FakeTwilio
) -> None:
    phone = _number()
    ours = _send(acme, channel="sms", to=phone, text="Hi from Acme")
    until(lambda: _status(acme, ours) == "sent", what="Acme's text sent")
    stop = incoming_sms(f"{stack.url}/v1/inbound/sms", to_number=TWILIO_FROM, from_number=phone, body="STOP")
    assert httpx.post(f"{base_url}/v1/inbound/sms", content=stop.body, headers=stop.headers).status_code == 200
    assert _suppressed(acme, phone) == [(phone, "unsubscribed")]
    assert _suppressed(globex, phone) == []
    theirs = _send(globex, channel="sms", to=phone, text="Hi from Globex")  # Globex never heard the STOP
    until(lambda: _status(globex, theirs) == "sent", what="Globex's text sent")
    assert _texts_to(fake_twilio, phone) == ["Hi from Acme", "Hi from Globex"]


def test_a_text_the_provider_refuses_for_good_is_bounced_in_words_and_never_a_dead_letter(
    acme: OrgUser, fake_twilio: FakeTwilio
) -> None:
    before = len(_texts_to(fake_twilio, OPTED_OUT_NUMBER))
    sent = _send(acme, channel="sms", to=OPTED_OUT_NUMBER, text="Hello")
    message = until(
        lambda: (m := acme.client.get(f"/v1/messages/{sent['messageId']}").json())["status"] == "bounced" and m,
        what="the text bounced",
    )
    assert message["error"].startswith(
        "the recipient texted STOP to this number, so the provider sends them nothing until they text START "
        "(Twilio error 21610): Attempt to send to unsubscribed recipient"
    ), message["error"]
    assert [a["result"] for a in message["attempts"]] == ["refused"]
    assert len(_texts_to(fake_twilio, OPTED_OUT_NUMBER)) == before + 1  # asked once: a refusal is never retried
    jobs = [j for j in acme.client.get("/v1/jobs").json()["jobs"] if j["type"].startswith("inbox.")]
    assert [(j["type"], j["status"], j["error"]) for j in jobs] == [("inbox.send_sms", "completed", None)], jobs
    assert acme.client.get("/v1/jobs", params={"status": "failed"}).json()["total"] == 0
    assert acme.client.get("/v1/dashboard", params={"days": 7}).json()["queue"]["deadLetters"] == 0
    assert _suppressed(acme, OPTED_OUT_NUMBER) == [(OPTED_OUT_NUMBER, "unsubscribed")]
    thread = _thread(acme, sent)
    assert thread["unread"] and not thread["needsReply"]


def test_a_bounce_brings_its_conversation_to_the_top_unread_without_asking_for_a_reply(
    stack: Stack, base_url: str, acme: OrgUser
) -> None:
    first, second = unique_email("bounces"), unique_email("later")
    older = _send(acme, to=first, leadId=_lead(acme, first), subject="Hello", text="Hi")
    newer = _send(acme, to=second, leadId=_lead(acme, second), subject="Hello again", text="Hi again")
    for sent in (older, newer):
        until(lambda s=sent: _status(acme, s) == "sent", what="sent")
    for thread in (older, newer):  # both read, as someone who had looked would have them
        acme.client.patch(f"/v1/inbox/threads/{thread['threadId']}", json={"unread": False})
    listed = acme.client.get("/v1/inbox/threads").json()["threads"]
    assert [t["id"] for t in listed] == [newer["threadId"], older["threadId"]]

    notice = _failure_notice(SHARED, first)
    notice["In-Reply-To"] = older["rfc822MessageId"]
    bounced = _webhook(base_url, notice)
    assert until(lambda: _filed_as(stack, bounced), what="the bounce filed") == "processed"
    assert _status(acme, older) == "bounced"
    listed = acme.client.get("/v1/inbox/threads").json()
    top = listed["threads"][0]
    assert (top["id"], top["unread"], top["needsReply"], top["lastKind"]) == (older["threadId"], True, False, "bounce")
    assert listed["counts"] == {"needsReply": 0, "unread": 1}


def test_an_empty_out_of_office_says_it_is_one_and_an_invitation_has_no_unsubscribe_link(acme: OrgUser) -> None:
    to = unique_email("away")
    sent = _send(acme, to=to, leadId=_lead(acme, to), subject="Lunch?", text="Lunch on Friday?")
    mail = until(
        lambda: next((m for m in acme.client.get("/v1/captured-mail").json()["mail"]
                      if m["messageId"] == sent["rfc822MessageId"]), None),
        what="the captured email",
    )  # fmt: skip
    assert not mail["systemMail"]
    assert (
        acme.client.post(f"/v1/captured-mail/{mail['id']}/reply", json={"text": "", "outOfOffice": True}).status_code
        == 202
    )
    thread = until(lambda: (t := _thread(acme, sent))["messageCount"] == 2 and t, what="the out-of-office")
    [away] = [m for m in thread["messages"] if m["direction"] == "in"]
    assert away["kind"] == "auto_reply" and away["text"].startswith("Thank you for your email. I am out of the office")

    invitee = unique_email("colleague")
    assert acme.client.post("/v1/invitations", json={"email": invitee, "role": "member"}).json()["emailSent"]
    invitation = until(
        lambda: next((m for m in acme.client.get("/v1/captured-mail").json()["mail"] if invitee in m["to"]), None),
        what="the captured invitation",
    )
    opened = acme.client.get(f"/v1/captured-mail/{invitation['id']}").json()
    names = {name.lower() for name, _ in opened["headers"]}
    assert opened["systemMail"] and invitation["systemMail"]
    assert "message-id" in names and not names & {"list-unsubscribe", "list-unsubscribe-post"}
    outreach = {name.lower() for name, _ in acme.client.get(f"/v1/captured-mail/{mail['id']}").json()["headers"]}
    assert {"list-unsubscribe", "list-unsubscribe-post"} <= outreach
