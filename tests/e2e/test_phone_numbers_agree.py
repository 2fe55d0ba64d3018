"""One rule for phone numbers across the services (leadflood_platform.phones), on the real stack with Twilio's API
faked: a number a lead's page takes, written with a leading 00 or a slash, is a number a text goes to and a number
the suppression list takes, each kept in the same E.164 form; Twilio's request log is the witness of what was sent."""

from __future__ import annotations

import uuid
from urllib.parse import quote

import httpx

from tests.e2e.helpers import unique_email, until
from tests.e2e.test_sms import _text
from tests.fakes.twilio import FakeTwilio


def test_a_number_fine_on_a_lead_is_fine_to_text_and_to_suppress(client: httpx.Client, fake_twilio: FakeTwilio) -> None:
    digits = f"{uuid.uuid4().int % 10_000_000:07d}"
    kept, written = f"+4930{digits}", f"0049 30/{digits}"  # as a German number is often written
    lead = client.post(
        "/v1/leads", json={"email": unique_email("phone"), "firstName": "Jonas", "lastName": "Young", "phone": written}
    )
    assert lead.status_code == 201, lead.text
    assert client.get(f"/v1/leads/{lead.json()['leadId']}").json()["phone"] == kept

    sent = _text(client, written, "Hallo Jonas")
    assert sent.status_code == 202 and sent.json()["outcome"] == "queued", sent.text
    until(lambda: client.get(f"/v1/messages/{sent.json()['messageId']}").json()["status"] == "sent", what="sent")
    assert [a.body for a in fake_twilio.accepted if a.to == kept] == ["Hallo Jonas"]

    suppressed = client.post("/v1/suppressions", json={"address": written})
    assert suppressed.status_code == 201 and suppressed.json()["address"] == kept, suppressed.text
    assert _text(client, kept, "Noch etwas").json()["outcome"] == "suppressed"
    assert [a.body for a in fake_twilio.accepted if a.to == kept] == ["Hallo Jonas"]
    assert client.delete(f"/v1/suppressions/{quote(kept, safe='')}").status_code == 204  # the demo org's list as it was
