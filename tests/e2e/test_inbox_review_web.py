"""A new user's review of the mail room, in headless Chromium, in an org of its own: conversations listed by the
lead's name (by email as by text) with their size in words; a text the provider refused reads in words, comes up
unread, and is no dead letter on the home page or in Operations; a message with nothing to show says so, and an
out-of-office sent with an empty box says what one says; an invitation in Mail offers no reply as a lead and
carries no unsubscribe link; the suppression list says why in words."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from email.message import EmailMessage
from email.utils import formatdate

import httpx
import pytest
from playwright.sync_api import Page, expect

from conftest import OPTED_OUT_NUMBER
from devstack.stack import Stack
from tests.e2e import test_web_client as web
from tests.e2e.helpers import OrgUser, org_user, unique_email, until
from tests.e2e.test_inbound import SECRET, _dsn
from tests.e2e.test_runs_web import sign_in_as

pytestmark = pytest.mark.browser
browser, page = web.browser, web.page
SLOW = 30_000  # ms


@pytest.fixture
def user(stack: Stack, base_url: str) -> Iterator[OrgUser]:
    with org_user(stack, base_url, "inbox-review") as made:
        yield made


def _lead(user: OrgUser, first: str, last: str, **fields: str) -> dict:
    made = user.client.post("/v1/leads", json={"firstName": first, "lastName": last, **fields})
    assert made.status_code == 201, made.text
    return {**made.json(), **fields}


def _send(user: OrgUser, **body: object) -> dict:
    sent = user.client.post("/v1/messages", json=body, headers={"idempotency-key": uuid.uuid4().hex})
    assert sent.status_code == 202, sent.text
    return sent.json()


def _message(user: OrgUser, sent: dict) -> dict:
    return user.client.get(f"/v1/messages/{sent['messageId']}").json()


def _captured(user: OrgUser, match: object) -> dict:
    return until(
        lambda: next((m for m in user.client.get("/v1/captured-mail").json()["mail"] if match(m)), None),  # type: ignore[operator]
        what="the captured email",
    )


def _empty_reply(base_url: str, frm: str, sent: dict) -> None:
    """A lead's answer with nothing written in it (a mail client's send pressed too soon), threaded under ours."""
    empty = EmailMessage()
    empty["From"], empty["To"], empty["Subject"] = frm, "outreach@leadflood.local", "Re: Quick question"
    empty["Date"], empty["Message-ID"] = formatdate(), f"<{uuid.uuid4().hex}@mail.example>"
    empty["In-Reply-To"] = sent["rfc822MessageId"]
    empty.set_content("\n")
    taken = httpx.post(
        f"{base_url}/v1/inbound/email", content=bytes(empty), headers={"authorization": f"Bearer {SECRET}"}
    )
    assert taken.status_code == 202, taken.text


def test_conversations_by_name_a_refused_text_in_words_and_no_dead_letter(page: Page, user: OrgUser) -> None:
    dana = _lead(user, "Dana", "Kim", email=unique_email("dana"), phone="0044 20 7946 0958")
    leo = _lead(user, "Leo", "Ito", email=unique_email("leo"), phone=OPTED_OUT_NUMBER)
    assert user.client.get(f"/v1/leads/{dana['leadId']}").json()["phone"] == "+442079460958"
    emailed = _send(user, to=dana["email"], leadId=dana["leadId"], subject="Quick question", text="Free on Tuesday?")
    mail = _captured(user, lambda m: m["messageId"] == emailed["rfc822MessageId"])
    assert user.client.post(f"/v1/captured-mail/{mail['id']}/reply", json={"text": "Tuesday works."}).status_code == 202
    until(lambda: user.client.get(f"/v1/inbox/threads/{emailed['threadId']}").json()["messageCount"] == 2, what="reply")
    for thread in user.client.get("/v1/inbox/threads").json()["threads"]:  # read, as someone who had looked
        user.client.patch(f"/v1/inbox/threads/{thread['id']}", json={"unread": False})
    texted = _send(user, channel="sms", to=leo["phone"], leadId=leo["leadId"], text="Hi Leo, a quick question")
    until(lambda: _message(user, texted)["status"] == "bounced", what="the text refused")

    sign_in_as(page, user)
    page.goto("/#/inbox?tab=all")
    items = page.get_by_test_id("thread-item")
    expect(items).to_have_count(2, timeout=SLOW)
    # The refused text came last: first in the list, unread, by the lead's name with the number beside it.
    expect(items.first.get_by_test_id("thread-item-name")).to_have_text("Leo Ito", timeout=SLOW)
    expect(items.first.get_by_test_id("thread-item-address")).to_have_text(OPTED_OUT_NUMBER)
    expect(items.first.get_by_test_id("thread-item-count")).to_have_text("1 message")
    expect(page.locator("li.unread").get_by_test_id("thread-item")).to_have_count(1)
    expect(page.get_by_test_id("inbox-count-unread")).to_have_text("1")
    emailed_item = items.nth(1)  # the conversation by email, before the text
    expect(emailed_item.get_by_test_id("thread-item-name")).to_have_text("Dana Kim")
    expect(emailed_item.get_by_test_id("thread-item-address")).to_have_text(dana["email"])
    expect(emailed_item.get_by_test_id("thread-item-count")).to_have_text("2 messages")

    items.first.click()
    said = page.get_by_test_id("thread").locator(".field-error")
    expect(said).to_contain_text("the recipient texted STOP to this number", timeout=SLOW)
    expect(said).to_contain_text("(Twilio error 21610)")
    expect(said).not_to_contain_text("sms refused")

    # Handled, not a failure someone must deal with: no dead letter at home or in Operations.
    page.goto("/#/")
    attention = page.get_by_test_id("attention")
    expect(attention).to_be_visible(timeout=SLOW)  # drawn with the figures, once they are read
    expect(attention).not_to_contain_text("dead letter")
    page.goto("/#/operations")
    expect(page.get_by_test_id("dead-letters-total")).to_have_text("0 dead letters", timeout=SLOW)
    expect(page.get_by_test_id("dead-letter-row")).to_have_count(0)


def test_an_empty_message_says_so_and_an_empty_out_of_office_says_what_one_says(
    page: Page, user: OrgUser, base_url: str
) -> None:
    ada = _lead(user, "Ada", "Lovelace", email=unique_email("ada"))
    sent = _send(user, to=ada["email"], leadId=ada["leadId"], subject="Quick question", text="Free on Tuesday?")
    _captured(user, lambda m: m["messageId"] == sent["rfc822MessageId"])
    _empty_reply(base_url, ada["email"], sent)
    until(lambda: user.client.get(f"/v1/inbox/threads/{sent['threadId']}").json()["messageCount"] == 2, what="reply")

    sign_in_as(page, user)
    page.goto("/#/mail")
    page.get_by_test_id("mail-item").filter(has_text="Quick question").click()
    expect(page.get_by_test_id("lead-reply-text")).to_have_value("")
    page.get_by_test_id("lead-reply-ooo").click()  # the box left empty
    expect(page.get_by_test_id("lead-reply-done")).to_contain_text("Out-of-office reply sent", timeout=SLOW)
    until(lambda: user.client.get(f"/v1/inbox/threads/{sent['threadId']}").json()["messageCount"] == 3, what="OOO")

    page.goto(f"/#/inbox/{sent['threadId']}?tab=all")
    texts = page.get_by_test_id("message-text")
    expect(texts).to_have_count(3, timeout=SLOW)
    expect(texts.nth(1)).to_have_text("(no text)")
    expect(page.get_by_test_id("message-kind").nth(1)).to_have_text("Auto-reply")
    expect(texts.nth(2)).to_contain_text("I am out of the office")


def test_an_invitation_in_mail_offers_no_reply_as_a_lead_and_no_unsubscribe(page: Page, user: OrgUser) -> None:
    to = unique_email("outreach")
    sent = _send(user, to=to, subject="Quick question", text="Free on Tuesday?")
    _captured(user, lambda m: m["messageId"] == sent["rfc822MessageId"])
    invitee = unique_email("colleague")
    assert user.client.post("/v1/invitations", json={"email": invitee, "role": "member"}).json()["emailSent"]
    _captured(user, lambda m: invitee in m["to"])

    sign_in_as(page, user)
    page.goto("/#/mail")
    invitation = page.get_by_test_id("mail-item").filter(has_text=invitee)
    expect(invitation.get_by_test_id("mail-item-system")).to_have_text("System mail", timeout=SLOW)
    invitation.click()
    expect(page.get_by_test_id("mail-system-note")).to_contain_text("no lead to reply as", timeout=SLOW)
    expect(page.get_by_test_id("lead-reply-form")).to_have_count(0)
    expect(page.get_by_test_id("mail-headers")).to_contain_text("Message-ID")
    expect(page.get_by_test_id("mail-headers")).not_to_contain_text("List-Unsubscribe")

    outreach = page.get_by_test_id("mail-item").filter(has_text=to)
    expect(outreach.get_by_test_id("mail-item-system")).to_have_count(0)
    outreach.click()
    expect(page.get_by_test_id("lead-reply-form")).to_be_visible(timeout=SLOW)
    expect(page.get_by_test_id("mail-headers")).to_contain_text("List-Unsubscribe=One-Click")


def test_the_suppression_list_says_why_in_words(page: Page, user: OrgUser, base_url: str) -> None:
    gone = unique_email("gone")
    sent = _send(user, to=gone, subject="Hello", text="Hi")
    until(lambda: _message(user, sent)["status"] == "sent", what="sent")
    bounce = httpx.post(f"{base_url}/v1/inbound/email", content=_dsn(sent["rfc822MessageId"], gone),
                        headers={"authorization": f"Bearer {SECRET}"})  # fmt: skip
    assert bounce.status_code == 202, bounce.text
    texted = _send(user, channel="sms", to=OPTED_OUT_NUMBER, text="Hello")
    until(lambda: _message(user, texted)["status"] == "bounced", what="the text refused")
    assert user.client.post("/v1/suppressions", json={"address": "0044 20 7946 0958"}).status_code == 201
    until(lambda: len(user.client.get("/v1/suppressions").json()["suppressions"]) == 3, what="three suppressed")

    sign_in_as(page, user)
    page.goto("/#/settings")
    rows = page.get_by_test_id("suppression-row")
    expect(rows).to_have_count(3, timeout=SLOW)
    for address, why in ((gone, "Hard bounce"), (OPTED_OUT_NUMBER, "Unsubscribed"), ("+442079460958", "Added by hand")):
        expect(rows.filter(has_text=address).get_by_test_id("suppression-reason")).to_have_text(why)
    expect(page.get_by_test_id("suppressions")).not_to_contain_text("by-hand")
