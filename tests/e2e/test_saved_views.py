"""Saved views over HTTP (#18): a user's named filters, sort and columns for the leads table, kept on the server;
private to their owner or shared with the org; bad input refused as problem+json; viewers keep their own."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from devstack.stack import Stack
from tests.e2e.helpers import assert_problem, org_user
from tests.e2e.test_roles import colleague


def view(name: str, **extra: Any) -> dict[str, Any]:
    return {
        "name": name,
        "filters": {"status": "new", "q": "acme"},
        "sort": "-score",
        "columns": ["name", "score"],
    } | extra


def names(client: httpx.Client) -> list[str]:
    reply = client.get("/v1/views", params={"page": "leads"})
    assert reply.status_code == 200, reply.text
    return [v["name"] for v in reply.json()["views"]]


def test_save_list_rename_and_delete_a_view(client: httpx.Client) -> None:
    name = f"Hot {uuid.uuid4().hex[:6]}"
    created = client.post("/v1/views", json=view(name))
    assert created.status_code == 201, created.text
    saved = created.json()
    assert created.headers["location"] == f"/v1/views/{saved['id']}"
    assert saved | {"id": "", "createdAt": "", "updatedAt": ""} == {
        "id": "", "page": "leads", "name": name, "filters": {"status": "new", "q": "acme"}, "sort": "-score",
        "columns": ["name", "score"], "shared": False, "mine": True, "ownerEmail": "demo@leadflood.local",
        "createdAt": "", "updatedAt": "",
    }  # fmt: skip
    assert name in names(client)
    assert client.get(f"/v1/views/{saved['id']}").json() == saved

    renamed = client.patch(f"/v1/views/{saved['id']}", json={"name": f"{name} (renamed)", "columns": ["email"]})
    assert renamed.status_code == 200, renamed.text
    assert (renamed.json()["name"], renamed.json()["columns"], renamed.json()["sort"]) == (
        f"{name} (renamed)", ["email"], "-score",
    )  # fmt: skip
    assert name not in names(client) and f"{name} (renamed)" in names(client)

    assert client.delete(f"/v1/views/{saved['id']}").status_code == 204
    assert_problem(client.get(f"/v1/views/{saved['id']}"), 404)
    assert_problem(client.delete(f"/v1/views/{saved['id']}"), 404)


def test_the_same_idempotency_key_saves_one_view(client: httpx.Client) -> None:
    name, key = f"Once {uuid.uuid4().hex[:6]}", uuid.uuid4().hex
    first = client.post("/v1/views", json=view(name), headers={"idempotency-key": key})
    again = client.post("/v1/views", json=view(name), headers={"idempotency-key": key})
    assert first.status_code == again.status_code == 201, again.text
    assert again.json()["id"] == first.json()["id"]
    assert names(client).count(name) == 1
    assert_problem(client.post("/v1/views", json=view("other"), headers={"idempotency-key": key}), 422)
    client.delete(f"/v1/views/{first.json()['id']}")


def test_bad_input_is_a_problem_never_a_server_error(client: httpx.Client) -> None:
    good = view(f"Bad {uuid.uuid4().hex[:6]}")
    for body in [
        {},
        {**good, "name": ""},
        {**good, "name": "   "},
        {**good, "name": "x" * 101},
        {**good, "name": "nul\x00name"},
        {**good, "page": "nope"},
        {**good, "filters": {"q": "nul\x00"}},
        {**good, "filters": {"bad key": "x"}},
        {**good, "filters": {"q": 5}},
        {**good, "filters": {f"k{i}": "x" for i in range(21)}},
        {**good, "filters": ["status"]},
        {**good, "sort": "score; drop"},
        {**good, "columns": []},
        {**good, "columns": ["name", "name"]},
        {**good, "columns": "name"},
        {**good, "shared": "yes"},
        {**good, "extra": 1},
    ]:
        refused = client.post("/v1/views", json=body)
        assert_problem(refused, 422)
    assert_problem(client.post("/v1/views", content=b"{not json", headers={"content-type": "application/json"}), 422)
    saved = client.post("/v1/views", json=good).json()
    assert "already" in assert_problem(client.post("/v1/views", json=good), 409)["detail"]
    assert_problem(client.patch(f"/v1/views/{saved['id']}", json={}), 422)
    assert_problem(client.patch(f"/v1/views/{saved['id']}", json={"name": ""}), 422)
    for missing in ("not-a-uuid", str(uuid.uuid4()), "%00"):
        assert_problem(client.get(f"/v1/views/{missing}"), 404)
        assert_problem(client.patch(f"/v1/views/{missing}", json={"name": "x"}), 404)
    assert_problem(client.get("/v1/views", params={"page": "sequences"}), 422)
    client.delete(f"/v1/views/{saved['id']}")


def test_a_private_view_is_its_owner_s_and_a_shared_one_the_org_s(stack: Stack, base_url: str) -> None:
    with org_user(stack, base_url, "team") as owner, colleague(stack, base_url, owner, "member") as member:
        private = owner.client.post("/v1/views", json=view("Mine")).json()
        shared = owner.client.post("/v1/views", json=view("Team's", shared=True)).json()
        # Another user's private view does not exist for them; the shared one is there, not theirs to change.
        assert names(member.client) == ["Team's"]
        for method in ("GET", "PATCH", "DELETE"):
            reply = member.client.request(
                method, f"/v1/views/{private['id']}", json={"name": "x"} if method == "PATCH" else None
            )
            assert_problem(reply, 404)
        seen = member.client.get(f"/v1/views/{shared['id']}").json()
        assert (seen["mine"], seen["ownerEmail"]) == (False, owner.email)
        assert_problem(member.client.patch(f"/v1/views/{shared['id']}", json={"name": "Hijacked"}), 403)
        assert_problem(member.client.delete(f"/v1/views/{shared['id']}"), 403)
        # The member's own view of the same name is theirs: names are unique per owner only.
        assert member.client.post("/v1/views", json=view("Mine")).status_code == 201
        # Unshared, it is gone from the member's list.
        assert owner.client.patch(f"/v1/views/{shared['id']}", json={"shared": False}).status_code == 200
        assert names(member.client) == ["Mine"]
        assert_problem(member.client.get(f"/v1/views/{shared['id']}"), 404)
    # Another org never sees the demo org's shared views, nor it theirs.
    with org_user(stack, base_url, "elsewhere") as stranger:
        assert names(stranger.client) == []


def test_an_admin_tidies_shared_views(stack: Stack, base_url: str) -> None:
    with org_user(stack, base_url, "team") as owner, colleague(stack, base_url, owner, "member") as member:
        shared = member.client.post("/v1/views", json=view("Stale", shared=True)).json()
        assert owner.client.patch(f"/v1/views/{shared['id']}", json={"name": "Stale (old)"}).status_code == 200
        assert owner.client.delete(f"/v1/views/{shared['id']}").status_code == 204
        assert names(member.client) == []


def test_a_viewer_keeps_views_of_their_own_but_shares_none(stack: Stack, base_url: str) -> None:
    with org_user(stack, base_url, "team") as owner, colleague(stack, base_url, owner, "viewer") as viewer:
        team = owner.client.post("/v1/views", json=view("For everyone", shared=True)).json()
        assert names(viewer.client) == ["For everyone"]  # applies the org's views
        own = viewer.client.post("/v1/views", json=view("Just me"))
        assert own.status_code == 201, own.text
        assert viewer.client.patch(f"/v1/views/{own.json()['id']}", json={"name": "Still me"}).status_code == 200
        assert "member" in assert_problem(viewer.client.post("/v1/views", json=view("All", shared=True)), 403)["detail"]
        assert_problem(viewer.client.patch(f"/v1/views/{own.json()['id']}", json={"shared": True}), 403)
        assert_problem(viewer.client.delete(f"/v1/views/{team['id']}"), 403)
        assert viewer.client.delete(f"/v1/views/{own.json()['id']}").status_code == 204
        assert names(viewer.client) == ["For everyone"]
        # A viewer still changes nothing else.
        assert_problem(viewer.client.post("/v1/icps", json={"name": "x"}), 403)
