"""An invitation's link reaches those who may invite, and no one else: the invitation email is system mail, sent
through the mail room (captured locally) but never a conversation in the inbox, never in the emails lists, the
dashboard's figures or a search, and a reply to it opens nothing. A viewer or a member who reads every page the
API gives them finds the link nowhere; the owner still has it, in the answer and in the captured email."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import httpx

from devstack.stack import Stack
from tests.e2e.helpers import OrgUser, assert_problem, db_value, org_user, unique_email, until
from tests.e2e.test_roles import colleague

CATEGORIES = ("sent", "replied", "bounced")


def _pages(client: httpx.Client, path: str, key: str, cursor_key: str, **params: Any) -> list[httpx.Response]:
    """Every page of a list, each answer kept whole (a link could hide in any field)."""
    answers, after = [], None
    while True:
        answer = client.get(path, params={**params, **({cursor_key: after} if after else {})})
        assert answer.status_code == 200, (path, answer.text)
        answers.append(answer)
        after = answer.json().get("nextCursor" if cursor_key == "cursor" else "before")
        if not after or not answer.json()[key]:
            return answers


def _everything_readable(client: httpx.Client, invitee: str, invitation_message: str) -> list[httpx.Response]:
    """Every answer the API gives this user about the org's mail: the inbox (each tab, each thread whole), the
    emails behind the dashboard (each category, each message), the dashboard, the captured mail (each one),
    the searches, and what it gives for the invitation's own message by its id."""
    answers: list[httpx.Response] = []
    for tab in ("all", "needs_reply", "unread", "archived"):
        for page in _pages(client, "/v1/inbox/threads", "threads", "cursor", filter=tab, limit=200):
            answers.append(page)
            answers += [client.get(f"/v1/inbox/threads/{t['id']}") for t in page.json()["threads"]]
    for category in CATEGORIES:
        for page in _pages(client, "/v1/inbox/messages", "messages", "cursor", category=category, days=90, limit=200):
            answers.append(page)
            answers += [client.get(f"/v1/messages/{m['id']}") for m in page.json()["messages"]]
    answers.append(client.get("/v1/dashboard", params={"days": 90}))
    for page in _pages(client, "/v1/captured-mail", "mail", "before", limit=200):
        answers.append(page)
        answers += [client.get(f"/v1/captured-mail/{m['id']}") for m in page.json()["mail"]]
    answers += [client.get("/v1/leads", params={"q": invitee, "filtered": "all"})]
    answers += [client.get("/v1/suppressions", params={"q": invitee})]
    answers += [client.get(f"/v1/messages/{invitation_message}")]
    return answers


def _email_a_lead(client: httpx.Client) -> tuple[dict[str, Any], dict[str, Any]]:
    """A new lead emailed once, as outreach: (the send's answer, its captured copy)."""
    address = unique_email("outreach")
    lead = client.post("/v1/leads", json={"email": address, "firstName": "Ada", "lastName": "L"}).json()
    sent = client.post(
        "/v1/messages",
        json={"to": address, "leadId": lead["leadId"], "subject": "Before the invitation", "text": "A short note."},
        headers={"idempotency-key": uuid.uuid4().hex},
    ).json()

    def captured() -> dict[str, Any] | None:
        mail = client.get("/v1/captured-mail", params={"limit": 200}).json()["mail"]
        return next((m for m in mail if m["messageId"] == sent["rfc822MessageId"]), None)

    return sent, until(captured, 30, "the captured outreach email")


def _figures(client: httpx.Client) -> dict[str, Any]:
    totals = client.get("/v1/dashboard", params={"days": 7}).json()["totals"]
    listed = {
        c: client.get("/v1/inbox/messages", params={"category": c, "days": 7}).json()["total"] for c in CATEGORIES
    }
    return {**{c: totals[c] for c in CATEGORIES}, "replyRate": totals["replyRate"], "listed": listed}


def _invitation_email(owner: OrgUser, invitee: str) -> Callable[[], dict[str, Any] | None]:
    def found() -> dict[str, Any] | None:
        mail = owner.client.get("/v1/captured-mail", params={"limit": 200}).json()["mail"]
        return next((m for m in mail if invitee in m["to"] and "invites you" in m["subject"]), None)

    return found


def test_only_those_who_may_invite_ever_read_an_invitation_s_link(stack: Stack, base_url: str) -> None:
    with (
        org_user(stack, base_url, "team") as owner,
        colleague(stack, base_url, owner, "viewer") as viewer,
        colleague(stack, base_url, owner, "member") as member,
    ):
        # Outreach first: one email and its reply, so the reply rate is a number an invitation could move.
        sent, mail = _email_a_lead(owner.client)
        assert owner.client.post(f"/v1/captured-mail/{mail['id']}/reply", json={"text": "Sure."}).status_code == 202
        until(lambda: _figures(owner.client)["replied"] == 1, 30, "the reply counted")
        before = _figures(owner.client)
        assert before["sent"] == before["replied"] == 1 and before["replyRate"] == 1.0

        invitee = unique_email("new-admin")
        invited = owner.client.post("/v1/invitations", json={"email": invitee, "role": "admin"})
        assert invited.status_code == 201, invited.text
        invitation = invited.json()
        assert invitation["emailSent"] is True, invitation
        token = invitation["inviteUrl"].split("#/join/")[1]
        key = f"invitation:{invitation['id']}"

        # The owner has the link: in the answer, and in the captured invitation email, which they may open.
        captured = until(_invitation_email(owner, invitee), 30, "the captured invitation email")
        opened = owner.client.get(f"/v1/captured-mail/{captured['id']}")
        assert opened.status_code == 200 and token in opened.json()["text"]
        # Sent as any email is (the mail room's record says so), and the invitee's answer, quoting the link, is
        # filed nowhere (kept raw only).
        status_of_send = "SELECT status FROM inbox.messages WHERE idempotency_key = $1"
        until(lambda: db_value(stack, status_of_send, key) == "sent", 30, "the invitation marked sent")
        invitation_message = str(db_value(stack, "SELECT id FROM inbox.messages WHERE idempotency_key = $1", key))
        answered = owner.client.post(f"/v1/captured-mail/{captured['id']}/reply", json={"text": "On my way in."})
        assert answered.status_code == 202, answered.text
        dedup = f"id:{answered.json()['messageId']}"
        filed_as = "SELECT status FROM inbox.inbound_raw WHERE dedup_key = $1"
        until(lambda: db_value(stack, filed_as, dedup) == "system_mail", 30, "the answer to the invitation filed")
        # Whoever may invite reads the invitation message back; it is in no conversation.
        own = owner.client.get(f"/v1/messages/{invitation_message}").json()
        assert token in own["text"] and own["threadId"] == "" and own["origin"] == "invitation"

        # Neither the invitation nor the answer to it is outreach: no figure moves, for anyone in the org.
        for user in (owner, viewer, member):
            assert _figures(user.client) == before

        # The owner's own inbox, emails lists and dashboard have no conversation with the link either: only the
        # invitation email itself (captured, and its message) carries it.
        owners = _everything_readable(owner.client, invitee, invitation_message)
        carrying = {a.url.path for a in owners if token in a.text}
        assert carrying == {f"/v1/captured-mail/{captured['id']}", f"/v1/messages/{invitation_message}"}

        for user in (viewer, member):
            answers = _everything_readable(user.client, invitee, invitation_message)
            leaked = [str(a.url) for a in answers if token in a.text]
            assert leaked == [], (user.email, leaked)
            assert all(a.status_code in (200, 404) for a in answers), [(str(a.url), a.status_code) for a in answers]
            assert not any(invitee in m["to"] for m in user.client.get("/v1/captured-mail").json()["mail"])
            assert_problem(user.client.get(f"/v1/captured-mail/{captured['id']}"), 404)
            assert_problem(user.client.get(f"/v1/messages/{invitation_message}"), 404)
            for refused in (user.client.get("/v1/invitations"), user.client.get("/v1/audit-log")):
                assert token not in assert_problem(refused, 403)["detail"]
        # A member may answer captured mail as its recipient, but not an invitation they cannot read.
        quoted = member.client.post(f"/v1/captured-mail/{captured['id']}/reply", json={"text": "Let me in"})
        assert_problem(quoted, 404)
        # The link still works for the one it was meant for.
        assert httpx.get(f"{base_url}/v1/join/{token}").json()["role"] == "admin"
        assert sent["threadId"] in {t["id"] for t in viewer.client.get("/v1/inbox/threads").json()["threads"]}


def test_an_invitation_to_an_address_that_cannot_receive_mail_says_why_no_email_went(
    stack: Stack, base_url: str
) -> None:
    """A reserved domain (.test, RFC 2606) cannot receive mail: the mail room refuses the invitation email, and the
    answer says so in the validator's words rather than the mail room's summary; the link still works."""
    with org_user(stack, base_url, "invite-reserved") as owner:
        invited = owner.client.post(
            "/v1/invitations", json={"email": f"mia-{uuid.uuid4().hex[:8]}@acme.test", "role": "member"}
        )
    assert invited.status_code == 201, invited.text
    body = invited.json()
    assert body["emailSent"] is False and body["inviteUrl"]
    assert "special-use or reserved" in body["emailError"], body["emailError"]
    assert "cannot be sent as given" not in body["emailError"]
