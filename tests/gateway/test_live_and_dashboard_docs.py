"""The OpenAPI document tells the truth about the live events and the dashboard: the ticket route needs sign-in,
the stream takes a ticket instead and is text/event-stream; the dashboard's and the messages list's shapes are
what their routes build."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from gateway.app import create_app
from gateway.config import GatewaySettings
from gateway.routes import dashboard
from leadflood.inbox.v1 import stats_pb2
from tests import internal_identity

SECRET = "a-test-secret-0123456789abcdef"


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    settings = GatewaySettings(
        database_url="postgresql://nobody@127.0.0.1:1/none",
        auth_jwt_secret=SECRET,
        internal_token_key=internal_identity.KEY,
    )
    return TestClient(create_app(settings)).get("/openapi.json").json()


def test_a_ticket_needs_sign_in_and_the_stream_takes_the_ticket(document: dict[str, Any]) -> None:
    tickets = document["paths"]["/v1/events/tickets"]["post"]
    assert tickets["security"] == [{"bearerAuth": []}]
    assert tickets["responses"]["201"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/EventTicket"
    }
    stream = document["paths"]["/v1/events"]["get"]
    assert "security" not in stream  # EventSource cannot send the header: the ticket is the credential
    assert "text/event-stream" in stream["responses"]["200"]["content"]
    assert "401" in stream["responses"]
    assert {p["name"] for p in stream["parameters"]} == {"ticket", "lastEventId", "last-event-id"}


@pytest.mark.parametrize(("path", "schema"), [("/v1/dashboard", "Dashboard"), ("/v1/inbox/messages", "MessagePage")])
def test_the_dashboard_s_shapes_are_documented(document: dict[str, Any], path: str, schema: str) -> None:
    operation = document["paths"][path]["get"]
    assert operation["security"] == [{"bearerAuth": []}]
    content = operation["responses"]["200"]["content"]["application/json"]
    assert content["schema"] == {"$ref": f"#/components/schemas/{schema}"}


def test_the_documented_shapes_are_what_the_routes_build() -> None:
    message = stats_pb2.ListedMessage(id="m1", thread_id="t1", status="sent", subject="Hi", to_address="a@b.c")
    message.at.FromSeconds(1_700_000_000)
    page = {"messages": [dashboard.message_json(message)], "nextCursor": None, "total": 1}
    dashboard.MessagePage.model_validate(page)
    dashboard.MessagePage.model_validate({"messages": [dashboard.message_json(stats_pb2.ListedMessage())],
                                          "nextCursor": "x", "total": 0})  # fmt: skip
    assert dashboard._rate(1, 3) == 0.3333 and dashboard._rate(0, 0) is None


def test_a_run_needs_attention_while_it_runs_or_when_it_failed_inside_the_window() -> None:
    from leadflood.runs.v1 import runs_pb2

    failed_now = runs_pb2.Run(state=runs_pb2.RUN_STATE_FAILED)
    failed_now.created_at.GetCurrentTime()
    failed_long_ago = runs_pb2.Run(state=runs_pb2.RUN_STATE_FAILED)
    failed_long_ago.created_at.FromSeconds(1_700_000_000)
    assert dashboard._needs_attention(failed_now, 7) and not dashboard._needs_attention(failed_long_ago, 7)
    assert dashboard._needs_attention(runs_pb2.Run(state=runs_pb2.RUN_STATE_RUNNING), 7)
    assert not dashboard._needs_attention(runs_pb2.Run(state=runs_pb2.RUN_STATE_COMPLETED), 7)
