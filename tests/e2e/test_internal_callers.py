"""Internal callers over gRPC (#17): every method of every service refuses a call with no identity, and a
token of another org reaches none of this org's data; an internal team's credential, exchanged at the
gateway, calls what its scopes name and nothing else, and stops working when revoked.

The methods are not listed by hand: each service's reflection says what it serves, so a method added
later is covered without a line here."""

from __future__ import annotations

import asyncio
import json
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import grpc
import httpx
import pytest
from google.protobuf import descriptor_pool, json_format, message_factory
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

import gateway.clients  # noqa: F401  (loads every contract into the descriptor pool)
from devstack.stack import Stack
from leadflood.leads.v1 import leads_pb2, leads_pb2_grpc
from leadflood_platform import identity
from tests.e2e.helpers import org_user, unique_email, until, wait_for_lead
from tests.e2e.test_icps import icp_body
from tests.e2e.test_lead_runs import finished, make_run
from tests.e2e.test_search_runs import wait_run
from tests.e2e.test_sequences import OPEN_WINDOW

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "docs" / "examples" / "first_grpc_call.py"
# Refusals that say "not yours / not valid" without touching anything; anything else (INTERNAL above all)
# would mean another org's call got further than it should.
REFUSED = {
    grpc.StatusCode.NOT_FOUND, grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.FAILED_PRECONDITION,
    grpc.StatusCode.PERMISSION_DENIED,  # a webhook whose signature does not match, say
}  # fmt: skip


async def _served_methods(stack: Stack) -> list[tuple[str, Any]]:
    """(port's service name, method descriptor) for every method each service's reflection lists."""
    pool, found = descriptor_pool.Default(), []
    for name, port in stack.config.ports.grpc.items():
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            call = reflection_pb2_grpc.ServerReflectionStub(channel).ServerReflectionInfo()
            await call.write(reflection_pb2.ServerReflectionRequest(list_services=""))
            reply = await call.read()
            await call.done_writing()
        for service in reply.list_services_response.service:
            if service.name.startswith(identity.OPEN_SERVICE_PREFIX):
                continue
            found += [(name, method) for method in pool.FindServiceByName(service.name).methods]
    return found


async def _call(stack: Stack, name: str, method: Any, request: Any, metadata: list[tuple[str, str]]) -> Any:
    """One call of any method, unary or client-streaming, by its descriptor."""
    reply_type = message_factory.GetMessageClass(method.output_type)
    path = f"/{method.containing_service.full_name}/{method.name}"
    async with grpc.aio.insecure_channel(f"127.0.0.1:{stack.config.ports.grpc[name]}") as channel:
        if method.client_streaming:
            stream = channel.stream_unary(path, lambda m: m.SerializeToString(), reply_type.FromString)
            return await stream(iter([request]), metadata=metadata, timeout=15)
        unary = channel.unary_unary(path, lambda m: m.SerializeToString(), reply_type.FromString)
        return await unary(request, metadata=metadata, timeout=15)


async def test_every_method_of_every_service_refuses_a_call_with_no_identity(stack: Stack) -> None:
    methods = await _served_methods(stack)
    assert len({name for name, _ in methods}) == len(stack.config.ports.grpc)  # all five services answered
    assert len(methods) > 60, [m.full_name for _, m in methods]
    forged = identity.Signer("a-key-this-deployment-never-had-0123456789", "gateway").token(str(uuid.uuid4()))
    for name, method in methods:
        request = message_factory.GetMessageClass(method.input_type)()
        for metadata in ([], [("x-org-id", str(uuid.uuid4()))], [identity.bearer(forged)]):
            with pytest.raises(grpc.aio.AioRpcError) as refused:
                await _call(stack, name, method, request, metadata)
            assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED, (method.full_name, metadata)


# --- another org's token -------------------------------------------------------------------------------


@pytest.fixture
def org_a(stack: Stack, base_url: str) -> Iterator[SimpleNamespace]:
    """An org of its own with one of everything a method can name, each settled (enriched, sent, finished)
    so a second look at it shows exactly what the first did."""
    with org_user(stack, base_url, "tenant-a") as user:
        api, tag = user.client, uuid.uuid4().hex[:8]
        me = api.get("/v1/me").json()
        icp = api.post("/v1/icps", json=icp_body(name=f"ICP {tag}")).json()
        search = api.post(f"/v1/icps/{icp['id']}/search", json={"source": "sandbox", "limit": 5}).json()
        wait_run(api, icp["id"], search["runId"])
        email = unique_email(f"tenant-{tag}")
        created = api.post("/v1/leads", json={"email": email, "firstName": "Ada", "lastName": tag})
        assert created.status_code == 201, created.text
        lead = wait_for_lead(api, created.json()["leadId"])
        sequence = api.post("/v1/sequences", json={
            "name": f"Tenancy {tag}", "window": OPEN_WINDOW,
            "steps": [{"channel": "email", "delayAmount": 0, "subjectTemplate": f"Hello {tag}", "bodyTemplate": "Hi"}],
        }).json()  # fmt: skip
        assert api.post(f"/v1/sequences/{sequence['id']}/activate").status_code == 200
        assert api.post(f"/v1/sequences/{sequence['id']}/enrollments", json={"leadIds": [lead["id"]]}).status_code in (
            200, 201, 202)  # fmt: skip
        enrollment = until(
            lambda: next((e for e in api.get(f"/v1/sequences/{sequence['id']}/enrollments").json()["enrollments"]
                          if e["state"] == "completed"), None),
            timeout_s=60, what="the one-step enrollment completed",
        )  # fmt: skip
        thread = until(lambda: (api.get("/v1/inbox/threads").json()["threads"] or [None])[0], what="a thread")
        messages = until(
            lambda: [
                m for m in api.get(f"/v1/inbox/threads/{thread['id']}").json()["messages"] if m["status"] == "sent"
            ],
            what="its message sent",
        )
        mailbox = api.get("/v1/mailboxes").json()["mailboxes"][0]  # the org's default, made for its first send
        run = make_run(api, dryRun=True, limit=2)
        assert api.post(f"/v1/lead-runs/{run['id']}/jobs").status_code == 202
        finished(api, run["id"])
        assert api.post("/v1/suppressions", json={"address": f"kept-{tag}@example.com"}).status_code in (200, 201)
        ids = {
            "org": me["orgId"], "lead_id": lead["id"], "icp_id": icp["id"], "search_run_id": search["runId"],
            "sequence_id": sequence["id"], "step_id": sequence["steps"][0]["id"],
            "enrollment_id": enrollment["id"], "mailbox_id": mailbox["id"], "thread_id": thread["id"],
            "message_id": messages[0]["id"], "lead_run_id": run["id"], "address": f"kept-{tag}@example.com",
        }  # fmt: skip
        # The suppressed address is no marker: a caller that names it is told it back, in its own org's list.
        yield SimpleNamespace(
            api=api, ids=ids, markers={*ids.values(), email, f"ICP {tag}", f"Tenancy {tag}"} - {ids["address"]}
        )


def _views(api: httpx.Client, ids: dict[str, str]) -> dict[str, Any]:
    """What the org's own user sees of each of its things."""
    paths = [
        f"/v1/leads/{ids['lead_id']}", f"/v1/icps/{ids['icp_id']}", f"/v1/sequences/{ids['sequence_id']}",
        f"/v1/sequences/{ids['sequence_id']}/enrollments", f"/v1/inbox/threads/{ids['thread_id']}",
        "/v1/mailboxes", "/v1/suppressions", f"/v1/lead-runs/{ids['lead_run_id']}", "/v1/leads?filtered=all",
    ]  # fmt: skip
    return {path: api.get(path).json() for path in paths}


def _naming(message: Any, ids: dict[str, str], service: str) -> Any:
    """The request with every id field naming the other org's thing of that kind (nested messages too)."""
    for field in message.DESCRIPTOR.fields:
        if field.message_type is not None and field.message_type.full_name.startswith("leadflood."):
            inner = getattr(message, field.name).add() if field.is_repeated else getattr(message, field.name)
            _naming(inner, ids, service)
            continue
        if field.type != field.TYPE_STRING:
            continue
        key = field.name.removesuffix("s") if field.is_repeated else field.name
        if key == "run_id":
            key = "search_run_id" if service == "icp" else "lead_run_id"
        if key in ids:
            if field.is_repeated:
                getattr(message, field.name).append(ids[key])
            else:
                setattr(message, field.name, ids[key])
    return message


async def test_another_orgs_token_reaches_nothing_of_this_org_through_any_method(
    stack: Stack, org_a: SimpleNamespace
) -> None:
    before = _views(org_a.api, org_a.ids)
    other = identity.metadata_for(str(uuid.uuid4()))  # a token every service accepts, for an org of its own
    outcomes: dict[str, str] = {}
    for name, method in await _served_methods(stack):
        request = _naming(message_factory.GetMessageClass(method.input_type)(), org_a.ids, name)
        try:
            reply = await _call(stack, name, method, request, other)
        except grpc.aio.AioRpcError as refused:
            assert refused.code() in REFUSED, (method.full_name, refused.code(), refused.details())
            outcomes[method.full_name] = refused.code().name
            continue
        shown = json_format.MessageToJson(reply)
        leaked = [marker for marker in org_a.markers if marker in shown]
        assert not leaked, (method.full_name, leaked)
        outcomes[method.full_name] = "OK"
    # The witness is the org's own view of its things: no call above changed any of them.
    assert _views(org_a.api, org_a.ids) == before
    # Every call that named one of the org's things by id was refused as not found (or invalid), never answered.
    named = [m for m in outcomes if outcomes[m] != "OK"]
    assert len(named) > 30, outcomes


# --- an internal team's credential -----------------------------------------------------------------------


def _exchange(base_url: str, client_id: str, secret: str, **form: str) -> httpx.Response:
    return httpx.post(
        f"{base_url}/v1/oauth/token", data={"grant_type": "client_credentials", **form}, auth=(client_id, secret)
    )


async def test_an_internal_team_calls_with_its_own_credential_within_its_scopes_until_revoked(
    stack: Stack, base_url: str
) -> None:
    with org_user(stack, base_url, "team-owner") as owner:
        api = owner.client
        lead = api.post("/v1/leads", json={"email": unique_email("team"), "firstName": "Grace", "lastName": "H"})
        lead_id = lead.json()["leadId"]
        created = api.post("/v1/internal-credentials", json={"team": "analytics", "scopes": ["leads:read"]})
        assert created.status_code == 201, created.text
        credential = created.json()
        assert credential["clientSecret"].startswith("lfic_")
        listed = api.get("/v1/internal-credentials").json()["credentials"]
        assert [c["id"] for c in listed] == [credential["id"]] and "clientSecret" not in listed[0]

        # The README's first call, run as a team would run it: token from the gateway, then gRPC.
        env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT / "gen" / "python")}
        env |= {
            "LEADFLOOD_URL": base_url, "LEADFLOOD_GRPC": f"127.0.0.1:{stack.config.ports.grpc['leads']}",
            "LEADFLOOD_CLIENT_ID": credential["id"], "LEADFLOOD_CLIENT_SECRET": credential["clientSecret"],
        }  # fmt: skip
        example = await asyncio.create_subprocess_exec(
            sys.executable, str(EXAMPLE), env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
        )
        out, err = await asyncio.wait_for(example.communicate(), timeout=60)
        ran = SimpleNamespace(returncode=example.returncode, stdout=out.decode(), stderr=err.decode())
        assert ran.returncode == 0, ran.stderr
        assert lead_id in ran.stdout

        token = _exchange(base_url, credential["id"], credential["clientSecret"])
        assert token.status_code == 200, token.text
        assert token.headers["cache-control"] == "no-store"
        body = token.json()
        assert (body["token_type"], body["scope"], body["expires_in"]) == ("Bearer", "leads:read", 300)
        bearer = [identity.bearer(body["access_token"])]

        async def calls() -> None:
            target = f"127.0.0.1:{stack.config.ports.grpc['leads']}"
            async with grpc.aio.insecure_channel(target) as channel:
                leads = leads_pb2_grpc.LeadsServiceStub(channel)
                found = await leads.GetLead(leads_pb2.GetLeadRequest(lead_id=lead_id), metadata=bearer, timeout=10)
                assert found.lead.id == lead_id
                with pytest.raises(grpc.aio.AioRpcError) as refused:
                    await leads.DeleteLead(leads_pb2.DeleteLeadRequest(lead_id=lead_id), metadata=bearer, timeout=10)
                assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED
                assert "leads:write" in (refused.value.details() or "")

        await calls()
        assert api.get(f"/v1/leads/{lead_id}").status_code == 200  # the refused delete deleted nothing

        # Asking beyond the credential's scopes, a wrong secret, a revoked credential: refused, in words.
        assert _exchange(base_url, credential["id"], credential["clientSecret"], scope="leads:write").status_code == 400
        wrong = _exchange(base_url, credential["id"], "lfic_wrong")
        assert wrong.status_code == 401 and wrong.json()["error"] == "invalid_client"
        assert api.delete(f"/v1/internal-credentials/{credential['id']}").status_code == 204
        revoked = _exchange(base_url, credential["id"], credential["clientSecret"])
        assert revoked.status_code == 401 and "revoked" in revoked.json()["detail"]
        audit = api.get("/v1/audit-log").json()
        actions = [entry["action"] for entry in audit.get("entries", audit.get("items", []))]
        assert {"internal_credential.created", "internal_credential.revoked"} <= set(actions), actions


def test_credentials_are_for_owners_and_admins_and_refuse_unknown_scopes(
    client: httpx.Client, stack: Stack, base_url: str
) -> None:
    bad = client.post("/v1/internal-credentials", json={"team": "analytics", "scopes": ["billing:read"]})
    assert bad.status_code == 422 and "billing:read" in json.dumps(bad.json())
    assert client.post("/v1/internal-credentials", json={"team": "Not A Name", "scopes": ["*"]}).status_code == 422
    assert client.delete(f"/v1/internal-credentials/{uuid.uuid4()}").status_code == 404
    assert httpx.post(f"{base_url}/v1/oauth/token", json={"grant_type": "client_credentials"}).status_code == 415
    not_a_grant = httpx.post(f"{base_url}/v1/oauth/token", data={"grant_type": "password"})
    assert not_a_grant.status_code == 400 and not_a_grant.json()["error"] == "unsupported_grant_type"
    unknown = _exchange(base_url, str(uuid.uuid4()), "lfic_x")
    assert unknown.status_code == 401 and unknown.headers["www-authenticate"].startswith("Basic")
