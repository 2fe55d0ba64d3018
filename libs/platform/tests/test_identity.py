"""Signed internal identities over a real in-process gRPC server: what each call must prove, and what it is
refused when it cannot (leadflood_platform.identity and the Identities interceptor)."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator
from types import SimpleNamespace

import grpc
import jwt
import pytest
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from leadflood.jobs.v1 import jobs_pb2, jobs_pb2_grpc
from leadflood_platform import context, identity
from leadflood_platform.interceptors import ContextAndErrors, Identities
from tests import internal_identity


class Echo(jobs_pb2_grpc.JobsServiceServicer):
    """Says who it served: the org, user and caller the service would scope its work by."""

    async def GetJob(self, request, ctx):  # type: ignore[no-untyped-def]
        seen = context.current()
        return jobs_pb2.GetJobResponse(
            job=jobs_pb2.Job(id=seen.get("org_id", ""), type=seen.get("caller", ""), error=seen.get("user_id", ""))
        )

    async def ReplayJob(self, request, ctx):  # type: ignore[no-untyped-def]
        return jobs_pb2.ReplayJobResponse()


@pytest.fixture
async def served() -> AsyncIterator[SimpleNamespace]:
    """The jobs contract served as a service named `jobs`, with health beside it; a bare channel (no
    interceptors of ours), so each test sends exactly the metadata it means to."""
    server = grpc.aio.server(interceptors=[Identities("jobs", internal_identity.verifier()), ContextAndErrors()])
    jobs_pb2_grpc.add_JobsServiceServicer_to_server(Echo(), server)
    health_servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}")
    yield SimpleNamespace(jobs=jobs_pb2_grpc.JobsServiceStub(channel), health=health_pb2_grpc.HealthStub(channel))
    await channel.close()
    await server.stop(None)


def _signer(key: str = internal_identity.KEY) -> identity.Signer:
    return identity.Signer(key, "team:analytics")


async def _refusal(call) -> grpc.aio.AioRpcError:  # type: ignore[no-untyped-def]
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call
    return caught.value


async def test_a_call_names_the_org_and_caller_of_its_token(served: SimpleNamespace) -> None:
    org, user = str(uuid.uuid4()), str(uuid.uuid4())
    token = _signer().token(org, user)
    reply = await served.jobs.GetJob(jobs_pb2.GetJobRequest(job_id="x"), metadata=[identity.bearer(token)])
    assert (reply.job.id, reply.job.type, reply.job.error) == (org, "team:analytics", user)


async def test_metadata_cannot_name_another_org(served: SimpleNamespace) -> None:
    """The org id metadata the services once trusted is ignored: only the signed token names the org."""
    org, other = str(uuid.uuid4()), str(uuid.uuid4())
    metadata = [identity.bearer(_signer().token(org)), ("x-org-id", other), ("x-user-id", "someone")]
    reply = await served.jobs.GetJob(jobs_pb2.GetJobRequest(job_id="x"), metadata=metadata)
    assert (reply.job.id, reply.job.error) == (org, "")


@pytest.mark.parametrize(
    "authorization",
    [
        None,  # nothing at all
        "Bearer ",
        "Basic dGVhbTpzZWNyZXQ=",
        "Bearer not-a-token",
        "Bearer " + _signer("another-deployments-key-0123456789").token(str(uuid.uuid4())),
        "Bearer " + _signer().token(str(uuid.uuid4()), ttl_s=-120),  # expired two minutes ago, past the leeway
        "Bearer " + _signer().token("org-7"),  # an org that is no org id
    ],
    ids=["none", "empty", "basic", "garbage", "other-key", "expired", "bad-org"],
)
async def test_a_call_without_a_valid_identity_is_unauthenticated(
    served: SimpleNamespace, authorization: str | None
) -> None:
    metadata = [] if authorization is None else [(identity.METADATA_KEY, authorization)]
    refused = await _refusal(served.jobs.GetJob(jobs_pb2.GetJobRequest(job_id="x"), metadata=metadata))
    assert refused.code() == grpc.StatusCode.UNAUTHENTICATED
    assert "signature" not in (refused.details() or "").lower()  # the reason is logged, not told to a forger


async def test_a_token_signed_some_other_way_is_refused() -> None:
    """`alg: none` and a token signed with HS256 but other claims: the verifier accepts neither."""
    verifier = internal_identity.verifier()
    unsigned = jwt.encode({"sub": "x", "iss": "leadflood", "aud": "leadflood-internal", "iat": 0, "exp": 2**31},
                          key=None, algorithm="none")  # fmt: skip
    wrong_audience = jwt.encode(
        {"sub": "x", "iss": "leadflood", "aud": "someone-else", "iat": int(time.time()), "exp": int(time.time()) + 60},
        internal_identity.KEY,
        algorithm="HS256",
    )
    for token in (unsigned, wrong_audience):
        with pytest.raises(identity.Unauthenticated):
            verifier.verify(f"Bearer {token}")


async def test_scopes_reach_what_they_name_and_nothing_more(served: SimpleNamespace) -> None:
    org = str(uuid.uuid4())
    reader = [identity.bearer(_signer().token(org, scopes=["jobs:read"]))]
    assert (await served.jobs.GetJob(jobs_pb2.GetJobRequest(job_id="x"), metadata=reader)).job.id == org
    refused = await _refusal(served.jobs.ReplayJob(jobs_pb2.ReplayJobRequest(job_id="x"), metadata=reader))
    assert refused.code() == grpc.StatusCode.PERMISSION_DENIED
    assert "jobs:write" in (refused.details() or "")
    elsewhere = [identity.bearer(_signer().token(org, scopes=["leads:*"]))]
    refused = await _refusal(served.jobs.GetJob(jobs_pb2.GetJobRequest(job_id="x"), metadata=elsewhere))
    assert refused.code() == grpc.StatusCode.PERMISSION_DENIED
    writer = [identity.bearer(_signer().token(org, scopes=["jobs:*"]))]
    await served.jobs.ReplayJob(jobs_pb2.ReplayJobRequest(job_id="x"), metadata=writer)


async def test_health_and_tooling_need_no_identity(served: SimpleNamespace) -> None:
    reply = await served.health.Check(health_pb2.HealthCheckRequest(service=""))
    assert reply.status == health_pb2.HealthCheckResponse.SERVING


async def test_the_previous_key_is_accepted_while_a_rotation_is_under_way() -> None:
    old, new = "the-old-internal-key-0123456789abcdef", "the-new-internal-key-0123456789abcdef"
    org = str(uuid.uuid4())
    during = identity.Verifier([new, old])
    assert during.verify(f"Bearer {_signer(old).token(org)}").org_id == org
    assert during.verify(f"Bearer {_signer(new).token(org)}").org_id == org
    with pytest.raises(identity.Unauthenticated):
        identity.Verifier([new]).verify(f"Bearer {_signer(old).token(org)}")


def test_a_signer_reuses_its_token_for_the_same_org_and_user_only() -> None:
    signer, org = _signer(), str(uuid.uuid4())
    assert signer.own_token(org, None) == signer.own_token(org, None)
    assert signer.own_token(org, None) != signer.own_token(str(uuid.uuid4()), None)
    assert signer.own_token(org, None) != signer.own_token(org, "user-1")


@pytest.mark.parametrize(
    ("method", "access"),
    [("GetJob", "read"), ("ListLeads", "read"), ("DescribeUnsubscribe", "read"), ("PreviewStep", "read"),
     ("SendMessage", "write"), ("ReplayJob", "write"), ("Unsubscribe", "write"), ("UpdateThread", "write")],
)  # fmt: skip
def test_a_method_only_reads_when_its_verb_says_so(method: str, access: str) -> None:
    assert identity.access_of(f"/leadflood.x.v1.XService/{method}") == access
