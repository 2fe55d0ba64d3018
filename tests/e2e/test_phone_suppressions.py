"""Phone numbers on the suppression list (issue #18), on the real stack with Twilio's API faked: a number added by
hand in any common writing is listed in E.164 with its reason, found by a search written as people write it, stops
every text to it (Twilio is never asked) until it is removed; a STOP shows in the list too; bad input is a 422 naming
`address`."""

from __future__ import annotations

from urllib.parse import quote

import httpx

from devstack.stack import Stack
from tests.e2e.helpers import assert_problem, until
from tests.e2e.test_sms import _number, _text, _webhook
from tests.fakes.twilio import FakeTwilio


def _written(number: str) -> str:
    """+14155550123 as a person types it: +1 (415) 555-0123."""
    return f"+1 ({number[2:5]}) {number[5:8]}-{number[8:]}"


def _listed(client: httpx.Client, q: str) -> list[dict]:
    return client.get("/v1/suppressions", params={"q": q}).json()["suppressions"]


def test_a_number_suppressed_by_hand_gets_no_text_until_it_is_removed(
    client: httpx.Client, fake_twilio: FakeTwilio
) -> None:
    number = _number()
    added = client.post("/v1/suppressions", json={"address": _written(number)})
    assert added.status_code == 201, added.text
    assert (added.json()["address"], added.json()["reason"], added.json()["added"]) == (number, "by-hand", True)
    again = client.post("/v1/suppressions", json={"address": number})
    assert again.status_code == 200 and not again.json()["added"]  # listed already, however it is written
    assert [s["address"] for s in _listed(client, f"({number[2:5]}) {number[5:8]}-{number[8:]}")] == [number]

    refused = _text(client, _written(number), "Are you free this week?")
    assert refused.status_code == 202 and refused.json()["outcome"] == "suppressed", refused.text
    assert "by-hand" in refused.json()["reason"]
    assert client.get(f"/v1/messages/{refused.json()['messageId']}").json()["status"] == "suppressed"
    assert [a for a in fake_twilio.accepted if a.to == number] == []

    # Removed as typed (the path carries it URL-encoded, as the web client sends it).
    assert client.delete(f"/v1/suppressions/{quote(_written(number), safe='')}").status_code == 204
    assert _listed(client, number) == []
    assert_problem(client.delete(f"/v1/suppressions/{quote(number, safe='')}"), 404)
    sent = _text(client, number, "Are you free next week?").json()
    assert sent["outcome"] == "queued"
    until(lambda: client.get(f"/v1/messages/{sent['messageId']}").json()["status"] == "sent", what="the text sent")
    assert [a.body for a in fake_twilio.accepted if a.to == number] == ["Are you free next week?"]


def test_a_number_that_texted_stop_is_listed_and_can_be_sent_to_again_once_removed(
    stack: Stack, client: httpx.Client, base_url: str, fake_twilio: FakeTwilio
) -> None:
    number = _number()
    first = _text(client, number, "Hello").json()
    until(lambda: client.get(f"/v1/messages/{first['messageId']}").json()["status"] == "sent", what="sent")
    assert _webhook(stack, base_url, from_number=number, body="STOP").status_code == 200
    [listed] = _listed(client, number)
    assert (listed["address"], listed["reason"]) == (number, "unsubscribed")
    assert client.delete(f"/v1/suppressions/{quote(number, safe='')}").status_code == 204
    assert _text(client, number, "Hello again").json()["outcome"] == "queued"


def test_what_is_neither_an_address_nor_a_number_is_refused_naming_the_field(client: httpx.Client) -> None:
    for given, says in (
        ("415 555 0123", "international form"),  # no country code: whose number it is cannot be told
        ("call me maybe", "neither an email address nor a phone number"),
        ("ada@", "@-sign"),
    ):
        problem = assert_problem(client.post("/v1/suppressions", json={"address": given}), 422)
        [error] = problem["errors"]
        assert error["field"] == "address" and says in error["message"], problem
