"""An internal team's first gRPC call to Lead Flood: exchange the team's credential for an identity token at
the gateway (OAuth 2.0 client credentials), then call the leads service with it. The README walks through it;
tests/e2e/test_internal_callers.py runs it.

    LEADFLOOD_URL=http://127.0.0.1:8080 LEADFLOOD_GRPC=127.0.0.1:50052 \
    LEADFLOOD_CLIENT_ID=... LEADFLOOD_CLIENT_SECRET=... python docs/examples/first_grpc_call.py

Needs grpcio, httpx and the generated stubs (`PYTHONPATH=gen/python`, or the protos built your way).
"""

import os

import grpc
import httpx

from leadflood.leads.v1 import leads_pb2, leads_pb2_grpc

# 1. A token for five minutes: ask again when it runs out (expires_in says when).
reply = httpx.post(
    f"{os.environ['LEADFLOOD_URL']}/v1/oauth/token",
    data={"grant_type": "client_credentials"},
    auth=(os.environ["LEADFLOOD_CLIENT_ID"], os.environ["LEADFLOOD_CLIENT_SECRET"]),
    timeout=10,
)
reply.raise_for_status()
token = reply.json()["access_token"]

# 2. Every call carries it as `authorization: Bearer <token>`; the org is the credential's, never a parameter.
with grpc.insecure_channel(os.environ["LEADFLOOD_GRPC"]) as channel:
    leads = leads_pb2_grpc.LeadsServiceStub(channel)
    page = leads.ListLeads(
        leads_pb2.ListLeadsRequest(page_size=10), metadata=[("authorization", f"Bearer {token}")], timeout=10
    )
    for lead in page.leads:
        print(lead.id, lead.email, lead.score)  # noqa: T201 (a script's output)
