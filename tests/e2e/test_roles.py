"""Roles (owner, admin, member, viewer) checked in the gateway, invitations by link, the audit log (#18)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import httpx

from devstack.stack import Stack
from tests.e2e.helpers import OrgUser, access_token, assert_problem, create_user, org_user, unique_email, until


@contextmanager
def colleague(stack: Stack, base_url: str, owner: OrgUser, role: str) -> Iterator[OrgUser]:
    """Another user in the owner's org with `role`, made by the operator's command, signed in."""
    org = f"team {owner.email}"
    email, password = unique_email(role), uuid.uuid4().hex
    create_user(stack, email, password, org=org, role=role)
    token = access_token(base_url, email, password)
    with httpx.Client(base_url=base_url, headers={"authorization": f"Bearer {token}"}, timeout=30) as client:
        yield OrgUser(email, password, client)


def lead(tag: str) -> dict[str, str]:
    return {"email": unique_email(tag), "firstName": "Rol", "lastName": "Es"}


def test_a_viewer_reads_but_changes_nothing(stack: Stack, base_url: str) -> None:
    with org_user(stack, base_url, "team") as owner, colleague(stack, base_url, owner, "viewer") as viewer:
        assert viewer.client.get("/v1/me").json()["role"] == "viewer"
        assert viewer.client.get("/v1/leads").status_code == 200
        assert viewer.client.get("/v1/users").status_code == 200
        for method, path, body in [
            ("POST", "/v1/leads", lead("viewer")),
            ("POST", "/v1/icps", {"name": "x"}),
            ("DELETE", f"/v1/leads/{uuid.uuid4()}", None),
            ("POST", "/v1/invitations", {"email": unique_email("x")}),
        ]:
            reply = viewer.client.request(method, path, json=body)
            assert "viewer" in assert_problem(reply, 403)["detail"], (method, path)
        assert_problem(viewer.client.get("/v1/audit-log"), 403)


def test_a_member_works_but_cannot_manage_users_or_mailboxes(stack: Stack, base_url: str) -> None:
    with org_user(stack, base_url, "team") as owner, colleague(stack, base_url, owner, "member") as member:
        assert member.client.post("/v1/leads", json=lead("member")).status_code == 201
        assert member.client.get("/v1/mailboxes").status_code == 200
        mailbox = {"fromAddress": "x@example.com", "smtpHost": "127.0.0.1"}
        assert "admin" in assert_problem(member.client.post("/v1/mailboxes", json=mailbox), 403)["detail"]
        assert_problem(member.client.post("/v1/invitations", json={"email": unique_email("x")}), 403)
        owner_id = next(u["userId"] for u in member.client.get("/v1/users").json()["users"] if u["role"] == "owner")
        assert_problem(member.client.patch(f"/v1/users/{owner_id}", json={"role": "viewer"}), 403)


def test_an_invited_member_joins_by_link_and_it_is_audited(stack: Stack, base_url: str) -> None:
    with org_user(stack, base_url, "team") as owner:
        email = unique_email("invited")
        invited = owner.client.post("/v1/invitations", json={"email": email.upper(), "role": "member"})
        assert invited.status_code == 201, invited.text
        invitation = invited.json()
        assert invitation["email"] == email and invitation["role"] == "member"
        # The invitation email went through the mail room: captured locally, the link in it.
        assert invitation["emailSent"] is True, invitation

        def captured() -> list[dict]:
            mail = owner.client.get("/v1/captured-mail", params={"limit": 50}).json()["mail"]
            return [m for m in mail if email in str(m) and "invites you" in str(m)]

        until(captured, 20, "the invitation email")
        token = invitation["inviteUrl"].split("#/join/")[1]
        assert [i["email"] for i in owner.client.get("/v1/invitations").json()["invitations"]] == [email]

        about = httpx.get(f"{base_url}/v1/join/{token}").json()
        assert about == {"orgName": f"team {owner.email}", "email": email, "role": "member"}
        assert_problem(httpx.post(f"{base_url}/v1/join/{token}", json={"password": "short"}), 422)
        joined = httpx.post(f"{base_url}/v1/join/{token}", json={"password": "a-good-password"})
        assert joined.status_code == 200, joined.text
        bearer = {"authorization": f"Bearer {joined.json()['accessToken']}"}
        assert httpx.get(f"{base_url}/v1/me", headers=bearer).json()["role"] == "member"
        assert_problem(httpx.post(f"{base_url}/v1/join/{token}", json={"password": "a-good-password"}), 404)
        signed_in = httpx.post(f"{base_url}/v1/auth/login", json={"email": email, "password": "a-good-password"})
        assert signed_in.status_code == 200

        users = {u["email"]: u for u in owner.client.get("/v1/users").json()["users"]}
        assert users[email]["role"] == "member" and users[owner.email]["role"] == "owner"
        # The owner makes them a viewer: it holds from their next request.
        assert owner.client.patch(f"/v1/users/{users[email]['userId']}", json={"role": "viewer"}).status_code == 200
        assert_problem(httpx.post(f"{base_url}/v1/leads", json=lead("demoted"), headers=bearer), 403)

        log = owner.client.get("/v1/audit-log").json()["items"]
        actions = [(e["action"], e["actorEmail"], e["target"]) for e in log]
        assert actions[:3] == [
            ("member.role_changed", owner.email, email),
            ("invitation.accepted", email, email),
            ("invitation.created", owner.email, email),
        ]
        assert log[0]["details"] == {"before": "member", "after": "viewer"}
        assert log[0]["address"] == "127.0.0.1" and log[0]["at"] and log[0]["requestId"]


def test_an_org_keeps_an_owner_and_only_owners_make_owners(stack: Stack, base_url: str) -> None:
    with org_user(stack, base_url, "team") as owner, colleague(stack, base_url, owner, "admin") as admin:
        me = owner.client.get("/v1/me").json()["userId"]
        assert (
            "at least one owner"
            in assert_problem(owner.client.patch(f"/v1/users/{me}", json={"role": "admin"}), 409)["detail"]
        )
        assert_problem(admin.client.post("/v1/invitations", json={"email": unique_email("o"), "role": "owner"}), 403)
        assert_problem(admin.client.delete(f"/v1/users/{me}"), 403)
        assert admin.client.get("/v1/audit-log").status_code == 200
        # Removing a user ends their sign-ins at once.
        admin_id = admin.client.get("/v1/me").json()["userId"]
        assert owner.client.delete(f"/v1/users/{admin_id}").status_code == 204
        assert_problem(admin.client.get("/v1/leads"), 401)
        assert owner.client.get("/v1/audit-log").json()["items"][0]["action"] == "member.removed"


def test_another_org_s_users_and_invitations_are_out_of_reach(stack: Stack, base_url: str) -> None:
    with org_user(stack, base_url, "team") as one, org_user(stack, base_url, "team") as other:
        other_id = other.client.get("/v1/me").json()["userId"]
        assert_problem(one.client.patch(f"/v1/users/{other_id}", json={"role": "viewer"}), 404)
        invitation = other.client.post("/v1/invitations", json={"email": unique_email("x")}).json()
        assert_problem(one.client.delete(f"/v1/invitations/{invitation['id']}"), 404)
        assert all(e["actorEmail"] == one.email for e in one.client.get("/v1/audit-log").json()["items"])
