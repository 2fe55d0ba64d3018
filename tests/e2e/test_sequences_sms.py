"""An SMS step through the whole stack: each lead with a phone number is texted once through the mail room's
Twilio adapter (the Twilio fake's request log is the witness), a lead without one skips the step saying why,
and the sequence's progress counts both."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from tests.e2e.helpers import unique_email, until
from tests.fakes.twilio import FakeTwilio

OPEN_WINDOW = {"days": [1, 2, 3, 4, 5, 6, 7], "startTime": "00:00", "endTime": "23:59", "timeZone": "UTC"}


def _lead(client: httpx.Client, first_name: str, phone: str = "") -> dict[str, Any]:
    body = {"email": unique_email(first_name.lower()), "firstName": first_name, "lastName": "Texter", "phone": phone}
    created = client.post("/v1/leads", json=body)
    assert created.status_code == 201, created.text
    return created.json()["lead"]


def test_an_sms_step_texts_each_lead_with_a_phone_once_and_skips_the_others(
    client: httpx.Client, fake_twilio: FakeTwilio
) -> None:
    tag = uuid.uuid4().hex[:8]
    step = {"channel": "sms", "bodyTemplate": f"Hi {{{{ lead.firstName }}}}, a quick question {tag}"}
    sequence = client.post("/v1/sequences", json={"name": f"Texts {tag}", "window": OPEN_WINDOW, "steps": [step]})
    assert sequence.status_code == 201, sequence.text
    seq = f"/v1/sequences/{sequence.json()['id']}"
    numbers = [f"+1415{uuid.uuid4().int % 10_000_000:07d}" for _ in range(3)]
    # Written as people write them; the leads service keeps E.164, which is what Twilio is asked to text.
    texted = [_lead(client, f"Sam{n}", number.replace("+1415", "+1 (415) ")) for n, number in enumerate(numbers)]
    assert [lead["phone"] for lead in texted] == numbers
    silent = _lead(client, "Nophone")
    client.post(f"{seq}/activate").raise_for_status()
    every = [lead["id"] for lead in [*texted, silent]]
    assert len(client.post(f"{seq}/enrollments", json={"leadIds": every}).json()["enrolled"]) == 4

    def enrollments() -> dict[str, dict[str, Any]] | None:
        listed = {e["leadId"]: e for e in client.get(f"{seq}/enrollments").json()["enrollments"]}
        return listed if all(e["state"] == "completed" for e in listed.values()) else None

    done = until(enrollments, timeout_s=30, what="every enrollment to complete")
    assert done[silent["id"]]["stopReason"] == "step 1 skipped: the lead has no phone number"

    def texts() -> list[Any] | None:
        ours = [a for a in fake_twilio.accepted if tag in a.body]
        return ours if len(ours) >= 3 else None

    sent = until(texts, timeout_s=30, what="three texts at Twilio")
    assert sorted((a.to, a.body) for a in sent) == sorted(
        (number, f"Hi Sam{n}, a quick question {tag}") for n, number in enumerate(numbers)
    )
    [counts] = client.get(f"{seq}/stats").json()["steps"]
    assert (counts["channel"], counts["sent"], counts["skipped"]) == ("sms", 3, 1)
    assert len([a for a in fake_twilio.accepted if tag in a.body]) == 3  # still one each: nothing resent
