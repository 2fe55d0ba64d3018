"""The OpenAPI document tells the truth: bearer sign-in, problem+json errors, response shapes; /docs offline."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient

from gateway.app import create_app
from gateway.config import GatewaySettings
from tests import internal_identity

SECRET = "a-test-secret-0123456789abcdef"


@pytest.fixture(scope="module")
def client() -> TestClient:
    # Not entered as a context manager: the lifespan (database, NATS, services) never starts, and the
    # document and /docs need none of it.
    settings = GatewaySettings(
        database_url="postgresql://nobody@127.0.0.1:1/none",
        auth_jwt_secret=SECRET,
        internal_token_key=internal_identity.KEY,
    )
    return TestClient(create_app(settings))


@pytest.fixture(scope="module")
def document(client: TestClient) -> dict[str, Any]:
    reply = client.get("/openapi.json")
    assert reply.status_code == 200
    return reply.json()


def operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(path, method, op) for path, ops in document["paths"].items() for method, op in ops.items()]


def test_a_bearer_scheme_guards_the_routes_that_need_sign_in(document: dict[str, Any]) -> None:
    schemes = document["components"]["securitySchemes"]
    assert schemes == {"bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT",
                                      "description": schemes["bearerAuth"]["description"]}}  # fmt: skip
    secured = {(path, method) for path, method, op in operations(document) if op.get("security")}
    assert ("/v1/leads", "get") in secured and ("/v1/lead-runs/{run_id}/jobs", "post") in secured
    assert ("/v1/auth/login", "post") not in secured and ("/health", "get") not in secured
    for path, method, op in operations(document):
        if (path, method) in secured:
            assert op["security"] == [{"bearerAuth": []}]
            assert "401" in op["responses"], f"{method} {path} needs sign-in but documents no 401"


def test_errors_are_documented_as_problems_never_as_fastapi_s_default(document: dict[str, Any]) -> None:
    text = str(document)
    assert "HTTPValidationError" not in text and "#/components/schemas/ValidationError" not in text
    problem = document["components"]["schemas"]["Problem"]
    assert {"type", "title", "status", "detail", "instance", "requestId", "errors"} <= set(problem["properties"])
    for path, method, op in operations(document):
        errors = {code: r for code, r in op["responses"].items() if code.startswith("4")}
        assert "422" in errors, f"{method} {path}"
        for code, response in errors.items():
            assert response["content"] == {
                "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}
            }, f"{method} {path} {code}"


def test_every_parameter_is_described(document: dict[str, Any]) -> None:
    missing = [
        f"{method} {path} {p['name']}"
        for path, method, op in operations(document)
        for p in op.get("parameters", [])
        if not p.get("description")
    ]
    assert missing == []


@pytest.mark.parametrize(
    ("path", "method", "code", "schema"),
    [
        ("/v1/leads", "get", "200", "LeadPage"),
        ("/v1/leads", "post", "201", "CreatedLead"),
        ("/v1/leads/{lead_id}", "get", "200", "LeadWithHistory"),
        ("/v1/leads/{lead_id}", "patch", "200", "Lead"),
        ("/v1/leads/{lead_id}/enrich", "post", "202", "EnrichStarted"),
        ("/v1/leads/import", "post", "200", "ImportReport"),
        ("/v1/leads/bulk-delete", "post", "200", "BulkDeleted"),
        ("/v1/leads/bulk-enrich", "post", "202", "BulkEnrichStarted"),
        ("/v1/leads/bulk-score", "post", "200", "BulkScored"),
        ("/v1/leads/{lead_id}/score", "post", "200", "LeadWithHistory"),
        ("/v1/leads/{lead_id}/apply-enrichment", "post", "200", "EnrichmentApplied"),
        ("/v1/icps", "get", "200", "IcpList"),
        ("/v1/icps/{icp_id}", "get", "200", "Icp"),
        ("/v1/icps/{icp_id}/search", "post", "202", "SearchStarted"),
        ("/v1/icps/{icp_id}/search-runs/{run_id}", "get", "200", "SearchRun"),
        ("/v1/lead-runs", "get", "200", "RunPage"),
        ("/v1/lead-runs/{run_id}", "get", "200", "Run"),
        ("/v1/lead-runs/quota", "get", "200", "Quota"),
        ("/v1/jobs/{job_id}", "get", "200", "Job"),
        ("/v1/jobs", "get", "200", "JobList"),
        ("/v1/icps/{icp_id}/search-runs", "get", "200", "SearchRunList"),
        ("/v1/inbox/threads", "get", "200", "ThreadPage"),
        ("/v1/suppressions", "get", "200", "SuppressionPage"),
        ("/v1/captured-mail", "get", "200", "CapturedMailPage"),
        ("/v1/sequences/{sequence_id}/enrollments", "get", "200", "EnrollmentPage"),
        ("/v1/tasks", "get", "200", "TaskPage"),
        ("/v1/sequences", "get", "200", "SequencePage"),
        ("/v1/sequences/{sequence_id}", "get", "200", "Sequence"),
    ],
)
def test_fixed_shapes_are_documented(document: dict[str, Any], path: str, method: str, code: str, schema: str) -> None:
    content = document["paths"][path][method]["responses"][code]["content"]["application/json"]
    assert content["schema"] == {"$ref": f"#/components/schemas/{schema}"}
    assert document["components"]["schemas"][schema]["properties"]


def test_docs_load_only_from_the_gateway(client: TestClient) -> None:
    page = client.get("/docs")
    assert page.status_code == 200
    urls = re.findall(r"""(?:src|href)\s*=\s*['"]([^'"]+)""", page.text) + re.findall(r"url: ['\"]([^'\"]+)", page.text)
    assert urls and all(url.startswith("/") for url in urls), urls
    assert "validatorUrl" in page.text  # Swagger UI's validator badge would call out
    for asset in ("/vendor/swagger-ui-dist/swagger-ui-bundle.js", "/vendor/swagger-ui-dist/swagger-ui.css"):
        assert asset in page.text
        assert client.get(asset).status_code == 200, f"{asset}: run npm ci --prefix gateway/web"


def test_the_documented_shapes_are_what_the_routes_build() -> None:
    """Each documented model takes exactly what its route's JSON builder gives (extra fields are refused),
    so a field added to the JSON and not to the document fails here."""
    from google.protobuf import struct_pb2, timestamp_pb2

    from gateway.routes import icps, jobs, leads, run_shapes, runs
    from leadflood.icp.v1 import icp_pb2
    from leadflood.jobs.v1 import jobs_pb2
    from leadflood.leads.v1 import leads_pb2
    from leadflood.runs.v1 import runs_pb2

    stamp = timestamp_pb2.Timestamp(seconds=1_700_000_000, nanos=5_000_000)
    fields = struct_pb2.Struct()
    fields.update({"location": "Berlin", "employees": 40})
    rule = leads_pb2.RuleMatch(rule="title", matched=True)
    lead = leads_pb2.Lead(id="l1", status=leads_pb2.LEAD_STATUS_ENRICHED, enrichment=fields, created_at=stamp,
                          score_explanation=[rule])  # fmt: skip
    leads.Lead.model_validate(leads.lead_json(lead))
    leads.Lead.model_validate(leads.lead_json(leads_pb2.Lead()))
    offered = leads_pb2.ProviderValue(
        field="company_size", value="51-200", state=leads_pb2.PROVIDER_VALUE_STATE_OFFERED
    )
    leads.Lead.model_validate(
        leads.lead_json(leads_pb2.Lead(company_size=51, company_size_max=200, provider_values=[offered]))
    )
    leads.LeadPage.model_validate(
        leads.page_json(leads_pb2.ListLeadsResponse(leads=[lead], total=10_000, total_capped=True))
    )
    leads.LeadPage.model_validate(leads.page_json(leads_pb2.ListLeadsResponse(next_cursor="c")))  # a cursor page
    icps.Icp.model_validate(icps.icp_json(icp_pb2.Icp(id="i1", created_at=stamp)))
    icps.SearchRun.model_validate(icps.run_json(icp_pb2.SearchRun(id="r1", status=icp_pb2.SEARCH_RUN_STATUS_RUNNING)))
    jobs.Job.model_validate(jobs.job_json(jobs_pb2.Job(id="leads:1", type="leads.enrich", payload=fields)))
    run_shapes.Run.model_validate(runs.run_json(runs_pb2.Run(id="r1", state=runs_pb2.RUN_STATE_RUNNING)))
    run_shapes.Alert.model_validate(runs.alert_json(runs_pb2.Alert(id="a1", created_at=stamp)))


def test_every_counted_page_documents_its_total_and_the_rows_it_holds() -> None:
    """A list that counts (`total`, `totalCapped` on its first page) documents both, and its rows' shape is what
    the route's builder gives: checked for each list given a total in #18."""
    from google.protobuf import timestamp_pb2

    from gateway.routes import icps, inbox, jobs, mail, run_shapes, runs, sequences, suppressions
    from gateway.routes.schemas import total_json
    from leadflood.icp.v1 import icp_pb2
    from leadflood.inbox.v1 import inbox_pb2
    from leadflood.jobs.v1 import jobs_pb2
    from leadflood.runs.v1 import runs_pb2
    from leadflood.sequences.v1 import sequences_pb2

    stamp = timestamp_pb2.Timestamp(seconds=1_700_000_000)
    first, later = (
        total_json(runs_pb2.ListRunsResponse(total=10_000, total_capped=True)),
        total_json(runs_pb2.ListRunsResponse()),
    )
    assert first == {"total": 10_000, "totalCapped": True} and later == {"total": None, "totalCapped": False}
    run = runs.run_json(runs_pb2.Run(id="r1"))
    run_shapes.RunPage.model_validate({"runs": [run], "nextCursor": "c", **first})
    search_run = icps.run_json(icp_pb2.SearchRun(id="s1"))
    icps.SearchRunList.model_validate({"items": [search_run], "nextCursor": None, **later})
    thread = inbox.thread_json(inbox_pb2.Thread(id="t1", last_message_at=stamp))
    counts = {"needsReply": 1, "unread": 2}
    inbox.ThreadPage.model_validate({"threads": [thread], "nextCursor": None, "counts": counts, **first})
    row = suppressions.suppression_json(inbox_pb2.Suppression(address="a@b.c", reason="by-hand", created_at=stamp))
    suppressions.SuppressionPage.model_validate({"suppressions": [row], "nextAfter": "a@b.c", **first})
    captured = mail._captured_json(inbox_pb2.CapturedMail(id=3, rcpt_to=["a@b.c"], received_at=stamp))
    mail.CapturedMailPage.model_validate({"mail": [captured], "before": 3, **first})
    # Each with its lead as a page reads them (one named, one deleted).
    named = {"l1": {"name": "Ada Lovelace", "email": "ada@acme.example", "phone": "+14155550123"}}
    enrollments = [
        sequences.enrollment_json(
            sequences_pb2.Enrollment(id=f"e{n}", lead_id=lead, state=sequences_pb2.ENROLLMENT_STATE_ACTIVE), named
        )
        for n, lead in enumerate(["l1", "l2"])
    ]
    assert [e["lead"] for e in enrollments] == [named["l1"], None]
    sequences.EnrollmentPage.model_validate({"enrollments": enrollments, "nextCursor": None, **first})
    task = sequences.task_json(
        sequences_pb2.Task(id="k1", lead_id="l1", state=sequences_pb2.TASK_STATE_OPEN, created_at=stamp), named
    )
    sequences.TaskPage.model_validate({"tasks": [task], "nextCursor": None, **later})
    variant = sequences_pb2.StepVariant(id="v1", weight=1)
    step = sequences_pb2.Step(id="p1", channel=sequences_pb2.CHANNEL_EMAIL, variants=[variant])
    sequence = sequences.sequence_json(sequences_pb2.Sequence(id="q1", steps=[step], created_at=stamp))
    sequences.SequencePage.model_validate({"sequences": [sequence], "nextCursor": "c", **first})
    sequences.Sequence.model_validate(sequences.sequence_json(sequences_pb2.Sequence()))
    job = jobs.job_json(jobs_pb2.Job(id="inbox.1", status=jobs_pb2.JOB_STATUS_FAILED, created_at=stamp))
    jobs.JobList.model_validate({"jobs": [job], "nextCursor": "c", "unavailable": ["leads"], **first})
    jobs.JobList.model_validate({"jobs": [], "nextCursor": None, "unavailable": [], **later})


def test_limits_and_idempotency_keys_are_documented(document: dict[str, Any]) -> None:
    leads = document["paths"]["/v1/leads"]
    assert set(leads["get"]["responses"]["200"]["headers"]) >= {"RateLimit", "RateLimit-Policy"}
    assert "Retry-After" in leads["get"]["responses"]["429"]["headers"]
    assert "rate limit" in leads["get"]["responses"]["429"]["description"]
    keys = [p for p in leads["post"]["parameters"] if p["name"].lower() == "idempotency-key"]
    assert len(keys) == 1 and keys[0]["in"] == "header" and "409" in leads["post"]["responses"]
    # Every signed-in POST takes one (those that require it already, as /v1/messages, keep theirs).
    for path, method, op in operations(document):
        if method == "post" and op.get("security"):
            assert [p for p in op["parameters"] if p["name"].lower() == "idempotency-key"], path
    login = document["paths"]["/v1/auth/login"]["post"]["responses"]["429"]
    assert "Retry-After" in login["headers"] and "sign-ins" in login["description"]
