"""Text messages: the real Twilio adapter against a local fake of its API, the sandbox, phone numbers,
and the inbound webhook's signature and keywords."""

from __future__ import annotations

import base64
import logging
from collections.abc import Iterator
from urllib.parse import parse_qsl

import grpc
import httpx
import pytest

from inbox.delivery import SendRequest, validate
from inbox.sms import (
    OPT_IN,
    OPT_OUT,
    SandboxSms,
    SmsRefused,
    TwilioSms,
    keyword_of,
    parse_inbound,
    sms_sender,
    verify_twilio_signature,
)
from leadflood_platform.errors import InvalidArgument, Unavailable
from leadflood_platform.http_retry import ProviderRejected, ProviderUnavailable
from leadflood_platform.jobs import RetryableJobError
from tests.fakes.server import Sleeps
from tests.fakes.twilio import ACCOUNT_SID, AUTH_TOKEN, FakeTwilio, incoming_sms, twilio_signature

FROM = "+14155550100"
ADA = "+447700900123"
SERVICE = "MG" + "9f" * 16
WEBHOOK = "https://app.example/v1/inbound/sms"


@pytest.fixture
def twilio() -> Iterator[FakeTwilio]:
    with FakeTwilio(opted_out=frozenset({"+14155550199"})) as fake:
        yield fake


def adapter(
    fake: FakeTwilio, client: httpx.AsyncClient, sleeps: Sleeps | None = None, *, token: str = AUTH_TOKEN
) -> TwilioSms:
    return TwilioSms(
        account_sid=ACCOUNT_SID,
        auth_token=token,
        sender=FROM,
        base_url=fake.url,
        client=client,
        sleep=Sleeps() if sleeps is None else sleeps,
    )


async def test_twilio_accepts_a_text(twilio: FakeTwilio, provider_http: httpx.AsyncClient) -> None:
    sid = await adapter(twilio, provider_http).send_sms(to=ADA, body="Hi Ada, 10 minutes on Thursday?")
    [accepted] = twilio.accepted
    assert (sid, accepted.to, accepted.sender, accepted.body) == (sid, ADA, FROM, "Hi Ada, 10 minutes on Thursday?")
    assert sid == accepted.sid and sid.startswith("SM") and len(sid) == 34
    [sent] = twilio.received
    assert sent.path == f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"
    assert sent.headers["content-type"] == "application/x-www-form-urlencoded"
    assert dict(parse_qsl(sent.body.decode())) == {"To": ADA, "From": FROM, "Body": "Hi Ada, 10 minutes on Thursday?"}
    assert base64.b64decode(sent.headers["authorization"].removeprefix("Basic ")).decode() == (
        f"{ACCOUNT_SID}:{AUTH_TOKEN}"
    )
    assert AUTH_TOKEN not in sent.target


async def test_twilio_sends_from_a_messaging_service(twilio: FakeTwilio, provider_http: httpx.AsyncClient) -> None:
    sender = sms_sender(
        "twilio", account_sid=ACCOUNT_SID, auth_token=AUTH_TOKEN, from_number=SERVICE, base_url=twilio.url,
        client=provider_http,
    )  # fmt: skip
    await sender.send_sms(to=ADA, body="Hello")
    [sent] = twilio.received
    assert dict(parse_qsl(sent.body.decode())) == {"To": ADA, "MessagingServiceSid": SERVICE, "Body": "Hello"}
    assert twilio.accepted[0].sender == SERVICE


async def test_twilio_500_then_success_is_one_text(twilio: FakeTwilio, provider_http: httpx.AsyncClient) -> None:
    sleeps = Sleeps()
    twilio.fail_next(1, status=500)
    sid = await adapter(twilio, provider_http, sleeps).send_sms(to=ADA, body="Hello")
    assert ([a.sid for a in twilio.accepted], len(twilio.received), sleeps) == ([sid], 2, [0.5])


async def test_twilio_429_waits_for_retry_after(twilio: FakeTwilio, provider_http: httpx.AsyncClient) -> None:
    sleeps = Sleeps()
    twilio.fail_next(1, status=429, retry_after_s=3)
    await adapter(twilio, provider_http, sleeps).send_sms(to=ADA, body="Hello")
    assert (len(twilio.accepted), len(twilio.received), sleeps) == (1, 2, [3.0])


async def test_twilio_down_through_every_attempt_is_retryable(
    twilio: FakeTwilio, provider_http: httpx.AsyncClient
) -> None:
    sleeps = Sleeps()
    twilio.fail_next(4, status=500)
    with pytest.raises(ProviderUnavailable, match="twilio: server error 500 after 4 attempts") as caught:
        await adapter(twilio, provider_http, sleeps).send_sms(to=ADA, body="Hello")
    assert isinstance(caught.value, RetryableJobError)
    assert (twilio.accepted, len(twilio.received), sleeps) == ([], 4, [0.5, 1.0, 2.0])


async def test_twilio_invalid_to_is_refused_once(twilio: FakeTwilio, provider_http: httpx.AsyncClient) -> None:
    sleeps = Sleeps()
    with pytest.raises(SmsRefused, match="The 'To' number 4155550123 is not a valid phone number") as caught:
        await adapter(twilio, provider_http, sleeps).send_sms(to="4155550123", body="Hello")
    refused = caught.value
    assert (refused.code, refused.status, refused.undeliverable, refused.opted_out) == (21211, 400, True, False)
    assert not isinstance(refused, RetryableJobError)
    # Said in words, the code named once, then Twilio's own words (kept alone in `detail`, for the bounce event).
    assert str(refused) == (
        "the provider refused the number as invalid (Twilio error 21211): "
        "The 'To' number 4155550123 is not a valid phone number."
    )
    assert refused.detail == "The 'To' number 4155550123 is not a valid phone number."
    assert (twilio.accepted, len(twilio.received), sleeps) == ([], 1, [])


async def test_twilio_stop_and_empty_body_are_refused(twilio: FakeTwilio, provider_http: httpx.AsyncClient) -> None:
    sms = adapter(twilio, provider_http)
    with pytest.raises(SmsRefused, match="unsubscribed recipient") as stopped:
        await sms.send_sms(to="+14155550199", body="Hello")
    assert (stopped.value.code, stopped.value.opted_out, stopped.value.undeliverable) == (21610, True, True)
    assert str(stopped.value).startswith("the recipient texted STOP to this number, so the provider sends them nothing")
    with pytest.raises(SmsRefused, match="Message body is required") as empty:
        await sms.send_sms(to=ADA, body="")
    assert (empty.value.code, empty.value.undeliverable) == (21602, False), "the message is at fault, not the number"
    assert (twilio.accepted, len(twilio.received)) == ([], 2)


async def test_twilio_wrong_credentials_are_a_setting_to_fix(
    twilio: FakeTwilio, provider_http: httpx.AsyncClient
) -> None:
    with pytest.raises(SmsRefused, match="check TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN") as caught:
        await adapter(twilio, provider_http, token="not-the-token").send_sms(to=ADA, body="Hello")
    assert (caught.value.code, caught.value.status, caught.value.undeliverable) == (20003, 401, False)
    assert isinstance(caught.value, ProviderRejected) and not isinstance(caught.value, RetryableJobError)
    assert (twilio.accepted, len(twilio.received)) == ([], 1)


async def test_twilio_token_never_reaches_a_log(
    twilio: FakeTwilio, provider_http: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    twilio.fail_next(1, status=429)
    await adapter(twilio, provider_http).send_sms(to=ADA, body="Hello")
    with pytest.raises(SmsRefused):
        await adapter(twilio, provider_http).send_sms(to="nope", body="Hello")
    assert caplog.records
    for record in caplog.records:
        assert AUTH_TOKEN not in record.getMessage() and AUTH_TOKEN not in str(vars(record))


async def test_sandbox_accepts_keeps_the_latest_and_refuses_its_test_numbers() -> None:
    sandbox = SandboxSms(keep=2)
    sids = [await sandbox.send_sms(to=ADA, body=f"text {n}") for n in range(3)]
    assert [(t.sid, t.to, t.body) for t in sandbox.sent] == [(sids[1], ADA, "text 1"), (sids[2], ADA, "text 2")]
    assert all(sid.startswith("SM") and len(sid) == 34 and int(sid[2:], 16) >= 0 for sid in sids)
    assert len(set(sids)) == 3
    for number, code in (("+15555550100", 21211), ("+15005550004", 21610), ("+15005550009", 21614), ("12", 21211)):
        with pytest.raises(SmsRefused) as caught:
            await sandbox.send_sms(to=number, body="Hello")
        assert (caught.value.code, caught.value.provider) == (code, "sandbox"), number
    with pytest.raises(SmsRefused, match=r"empty text \(Twilio error 21602\): Message body is required"):
        await sandbox.send_sms(to=ADA, body="  ")
    assert len(sandbox.sent) == 2, "a refused text is not recorded as sent"


async def test_sender_choice_and_missing_settings(provider_http: httpx.AsyncClient) -> None:
    options = {"base_url": "https://api.twilio.com", "client": provider_http}
    assert isinstance(sms_sender("sandbox", account_sid="", auth_token="", from_number="", **options), SandboxSms)
    twilio = sms_sender("twilio", account_sid=ACCOUNT_SID, auth_token="t", from_number="+1 (415) 555-0100", **options)
    assert isinstance(twilio, TwilioSms) and twilio.sender == FROM
    with pytest.raises(Unavailable, match="^TWILIO_AUTH_TOKEN is not set: the twilio SMS provider") as caught:
        sms_sender("twilio", account_sid=ACCOUNT_SID, auth_token="", from_number=FROM, **options)
    assert caught.value.code == grpc.StatusCode.UNAVAILABLE
    with pytest.raises(Unavailable, match="^TWILIO_ACCOUNT_SID and TWILIO_FROM are not set"):
        sms_sender("twilio", account_sid="", auth_token="t", from_number="", **options)
    with pytest.raises(Unavailable, match="TWILIO_FROM must be a phone number in E.164 form"):
        sms_sender("twilio", account_sid=ACCOUNT_SID, auth_token="t", from_number="4155550100", **options)
    with pytest.raises(InvalidArgument, match="unknown SMS provider 'vonage'; use one of sandbox, twilio"):
        sms_sender("vonage", account_sid="", auth_token="", from_number="", **options)


@pytest.mark.parametrize(
    ("given", "kept"), [("+1 (415) 555-0123", "+14155550123"), ("0044 7700 900123", "+447700900123"),
                        ("+49 30/1234567", "+49301234567")],
)  # fmt: skip
def test_a_number_a_lead_may_have_is_one_a_text_goes_to(given: str, kept: str) -> None:
    """A text's recipient is normalised by the rule a lead's number is (leadflood_platform.phones): a number fine on a
    lead is never refused as a text's recipient."""
    text = SendRequest(
        idempotency_key="k", channel="sms", mailbox_id=None, lead_id=None, to_address=given, to_name="", subject="",
        text_body="Hi", html_body="", thread_id=None, continue_lead_thread=False, not_after=None, dry_run=False,
        origin="manual",
    )  # fmt: skip
    assert validate(text).to_address == kept


# Twilio's own published example (twilio-python tests/unit/test_request_validator.py), an independent answer key.
TWILIO_URL = "https://mycompany.com/myapp.php?foo=1&bar=2"
TWILIO_PARAMS = {
    "CallSid": "CA1234567890ABCDE",
    "Digits": "1234",
    "From": "+14158675309",
    "To": "+18005551212",
    "Caller": "+14158675309",
}


def test_signature_matches_twilios_published_examples() -> None:
    assert verify_twilio_signature("12345", TWILIO_URL, TWILIO_PARAMS, "RSOYDt4T1cUTdK1PDd93/VVr8B8=")
    assert twilio_signature("12345", TWILIO_URL, list(TWILIO_PARAMS.items())) == "RSOYDt4T1cUTdK1PDd93/VVr8B8=", (
        "the fake signs as Twilio does"
    )
    # Signed with the default port written out, and checked against the URL without it (and the reverse).
    assert verify_twilio_signature("12345", TWILIO_URL, TWILIO_PARAMS, "kvajT1Ptam85bY51eRf/AJRuM3w=")
    with_port = TWILIO_URL.replace(".com", ".com:1234")
    assert verify_twilio_signature("12345", with_port, TWILIO_PARAMS, "RSOYDt4T1cUTdK1PDd93/VVr8B8=")
    repeated = [("Sid", "CA123"), ("SidAccount", "AC123"), ("Digits", "5678"), ("Digits", "1234")]
    assert verify_twilio_signature("12345", TWILIO_URL, repeated, "IK+Dwps556ElfBT0I3Rgjkr1wJU=")
    assert not verify_twilio_signature("12345", TWILIO_URL, TWILIO_PARAMS, "IK+Dwps556ElfBT0I3Rgjkr1wJU=")


def test_signature_of_a_webhook_and_of_its_forgeries() -> None:
    hook = incoming_sms(WEBHOOK, from_number=ADA, to_number=FROM, body="Sounds good, Thursday works")
    received = parse_qsl(hook.body.decode(), keep_blank_values=True)
    assert verify_twilio_signature(AUTH_TOKEN, WEBHOOK, received, hook.signature)
    assert verify_twilio_signature(AUTH_TOKEN, WEBHOOK, dict(received), hook.signature)
    tampered = [(k, "STOP" if k == "Body" else v) for k, v in received]
    assert not verify_twilio_signature(AUTH_TOKEN, WEBHOOK, tampered, hook.signature), "a changed body"
    assert not verify_twilio_signature(AUTH_TOKEN, WEBHOOK, [*received, ("Extra", "1")], hook.signature)
    assert not verify_twilio_signature(AUTH_TOKEN, WEBHOOK + "?org=2", received, hook.signature), "another URL"
    assert not verify_twilio_signature(AUTH_TOKEN, "http://app.example/v1/inbound/sms", received, hook.signature)
    assert not verify_twilio_signature("another-token", WEBHOOK, received, hook.signature), "another account"
    assert not verify_twilio_signature(AUTH_TOKEN, WEBHOOK, received, ""), "no signature"
    # Anyone can compute an HMAC under an empty key: an unset token must verify nothing.
    unkeyed = twilio_signature("", WEBHOOK, received)
    assert not verify_twilio_signature("", WEBHOOK, received, unkeyed), "no token: nothing is verified"
    assert not verify_twilio_signature(AUTH_TOKEN, WEBHOOK, received, "é" + hook.signature)


def test_parse_inbound_reads_twilios_fields() -> None:
    hook = incoming_sms(WEBHOOK, from_number=ADA, to_number=FROM, body="Sounds good, Thursday works")
    sms = parse_inbound(parse_qsl(hook.body.decode(), keep_blank_values=True))
    fields = dict(hook.params)
    assert (sms.message_sid, sms.account_sid, sms.from_number, sms.to_number) == (
        fields["MessageSid"],
        ACCOUNT_SID,
        ADA,
        FROM,
    )
    assert (sms.body, sms.num_media, sms.keyword, sms.opts_out, sms.opts_in) == (
        "Sounds good, Thursday works",
        0,
        "",
        False,
        False,
    )
    with pytest.raises(InvalidArgument, match="missing MessageSid, From") as caught:
        parse_inbound({"To": FROM, "Body": "hi"})
    assert [v.field for v in caught.value.violations] == ["MessageSid", "From"]


@pytest.mark.parametrize(
    ("body", "keyword"),
    [
        ("STOP", OPT_OUT), ("stop", OPT_OUT), (" Stop. ", OPT_OUT), ("STOPALL", OPT_OUT), ("stop all", OPT_OUT),
        ("Unsubscribe", OPT_OUT), ("cancel", OPT_OUT), ("END", OPT_OUT), ("quit!", OPT_OUT), ("opt-out", OPT_OUT),
        ("REVOKE", OPT_OUT), ("START", OPT_IN), ("unstop", OPT_IN), ("Yes", OPT_IN), ("HELP", "help"),
        ("stop please", ""), ("please cancel", ""), ("Don't stop", ""), ("Start Thursday?", ""), ("", ""),
        ("the end", ""), ("Yes!", ""),
    ],
)  # fmt: skip
def test_keywords(body: str, keyword: str) -> None:
    assert keyword_of(body) == keyword
    hook = incoming_sms(WEBHOOK, from_number=ADA, to_number=FROM, body=body)
    assert parse_inbound(hook.params).keyword == keyword


def test_advanced_opt_out_type_wins() -> None:
    """A Messaging Service with Advanced Opt-Out may add its own keywords (say ARRET) and names their kind."""
    stop = incoming_sms(WEBHOOK, from_number=ADA, to_number=FROM, body="ARRET", extra={"OptOutType": "STOP"})
    start = incoming_sms(WEBHOOK, from_number=ADA, to_number=FROM, body="Go", extra={"OptOutType": "START"})
    assert (parse_inbound(stop.params).opts_out, parse_inbound(start.params).opts_in) == (True, True)
