"""The provider retry policy: what is waited out, what fails at once, and what never reaches a log."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime
from email.utils import format_datetime

import httpx
import pytest

from leadflood_platform.http_retry import (
    ProviderAuthError,
    ProviderRejected,
    ProviderUnavailable,
    retry_after_s,
    send_with_retries,
)
from leadflood_platform.jobs import RetryableJobError

SECRET = "sk-live-7f3a9"

Step = httpx.Response | Exception


class Sleeps(list[float]):
    async def __call__(self, seconds: float) -> None:
        self.append(seconds)


def scripted(*steps: Step) -> tuple[httpx.AsyncClient, list[httpx.Request]]:
    """A client whose transport answers with `steps` in order, recording what it was sent."""
    sent: list[httpx.Request] = []
    queue: Iterator[Step] = iter(steps)

    def handle(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        step = next(queue)
        if isinstance(step, Exception):
            raise step
        return step

    transport = httpx.MockTransport(handle)
    return httpx.AsyncClient(transport=transport, timeout=httpx.Timeout(10.0, connect=5.0)), sent


def request(client: httpx.AsyncClient) -> httpx.Request:
    return client.build_request("GET", "https://api.example.test/v2/find", params={"api_key": SECRET, "q": "ada"})


async def send(*steps: Step, **options: object) -> tuple[httpx.Response, list[httpx.Request], Sleeps]:
    client, sent = scripted(*steps)
    sleeps = Sleeps()
    async with client:
        response = await send_with_retries(client, request(client), provider="example", sleep=sleeps, **options)
    return response, sent, sleeps


async def fails(error: type[Exception], *steps: Step, **options: object) -> tuple[Exception, list, Sleeps]:
    client, sent = scripted(*steps)
    sleeps = Sleeps()
    async with client:
        with pytest.raises(error) as caught:
            await send_with_retries(client, request(client), provider="example", sleep=sleeps, **options)
    return caught.value, sent, sleeps


def ok() -> httpx.Response:
    return httpx.Response(200, json={"data": {"email": "ada@example.test"}})


async def test_a_success_is_returned_after_one_call() -> None:
    response, sent, sleeps = await send(ok())
    assert response.json()["data"]["email"] == "ada@example.test"
    assert (len(sent), sleeps) == (1, [])


async def test_retry_after_in_seconds_is_honoured() -> None:
    _, sent, sleeps = await send(httpx.Response(429, headers={"Retry-After": "7"}), ok())
    assert (len(sent), sleeps) == (2, [7.0])


async def test_retry_after_as_an_http_date_is_honoured() -> None:
    later = format_datetime(datetime.fromtimestamp(datetime.now(UTC).timestamp() + 12, UTC), usegmt=True)
    _, _, sleeps = await send(httpx.Response(429, headers={"Retry-After": later}), ok())
    assert 10.0 <= sleeps[0] <= 12.0


def test_retry_after_parsing() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC).timestamp()
    assert retry_after_s("120", now=now) == 120.0
    assert retry_after_s("Thu, 01 Jan 2026 00:00:30 GMT", now=now) == 30.0
    assert retry_after_s("Wed, 31 Dec 2025 23:00:00 GMT", now=now) == 0.0  # already past: go now
    assert retry_after_s("soon", now=now) is None
    assert retry_after_s(None) is None


async def test_a_429_without_retry_after_backs_off() -> None:
    _, _, sleeps = await send(httpx.Response(429), httpx.Response(429), ok())
    assert sleeps == [0.5, 1.0]


async def test_a_wait_beyond_the_cap_gives_up_at_once_and_says_how_long() -> None:
    error, sent, sleeps = await fails(ProviderUnavailable, httpx.Response(429, headers={"Retry-After": "3600"}))
    assert isinstance(error, RetryableJobError) and error.retry_after_s == 3600.0
    assert (len(sent), sleeps) == (1, [])


async def test_server_errors_back_off_then_succeed() -> None:
    _, sent, sleeps = await send(httpx.Response(500), httpx.Response(502), ok())
    assert (len(sent), sleeps) == (3, [0.5, 1.0])


async def test_persistent_server_errors_become_unavailable_after_every_attempt() -> None:
    error, sent, sleeps = await fails(ProviderUnavailable, *[httpx.Response(503)] * 4)
    assert isinstance(error, RetryableJobError)
    assert (len(sent), sleeps) == (4, [0.5, 1.0, 2.0])  # no pointless wait after the last attempt


async def test_timeouts_and_transport_errors_are_retried() -> None:
    _, sent, _ = await send(httpx.ReadTimeout("timed out"), httpx.ConnectError("refused"), ok())
    assert len(sent) == 3
    error, sent, _ = await fails(ProviderUnavailable, *[httpx.ConnectTimeout("timed out")] * 2, attempts=2)
    assert "ConnectTimeout" in str(error) and len(sent) == 2


async def test_malformed_json_in_a_success_is_transient() -> None:
    error, sent, _ = await fails(ProviderUnavailable, *[httpx.Response(200, text='{"data": ')] * 4)
    assert "malformed JSON" in str(error) and len(sent) == 4


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"error": "Value too long for person_titles"}, "Value too long for person_titles"),
        (
            {"errors": [{"id": "wrong_params", "code": 400, "details": "You are missing the domain parameter"}]},
            "You are missing the domain parameter",
        ),
        ({"message": "per_page must be at most 100"}, "per_page must be at most 100"),
    ],
)
async def test_a_rejection_is_permanent_and_carries_the_providers_message(body: dict, message: str) -> None:
    error, sent, sleeps = await fails(ProviderRejected, httpx.Response(422, json=body))
    assert str(error) == message and error.status == 422
    assert not isinstance(error, RetryableJobError)
    assert (len(sent), sleeps) == (1, [])


@pytest.mark.parametrize("status", [401, 403])
async def test_a_refused_key_is_an_auth_error(status: int) -> None:
    error, sent, _ = await fails(
        ProviderAuthError, httpx.Response(status, json={"error": "Invalid access credentials."})
    )
    assert str(error) == "Invalid access credentials." and len(sent) == 1


async def test_a_provider_can_name_its_own_rate_limit_status() -> None:
    # Hunter documents 403 as "You have reached the rate limit".
    _, sent, sleeps = await send(httpx.Response(403), ok(), rate_limit_statuses=frozenset({403, 429}))
    assert (len(sent), sleeps) == (2, [0.5])


async def test_no_log_record_holds_the_query_string_or_headers(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    steps = (httpx.Response(500), httpx.ReadTimeout("timed out"), httpx.Response(429), httpx.Response(503))
    await fails(ProviderUnavailable, *steps)
    await fails(ProviderRejected, httpx.Response(400, json={"error": "bad"}))
    # httpx itself logs whole URLs at INFO, which is why the adapters send keys in headers, never in a URL.
    ours = [record for record in caplog.records if record.name == "leadflood_platform.http_retry"]
    assert len(ours) == 5, "each failed attempt and each outcome is logged"
    for record in ours:
        assert SECRET not in record.getMessage() and SECRET not in str(vars(record))
        assert "api_key" not in str(vars(record))
    assert {"host": "api.example.test", "path": "/v2/find", "status": 500, "attempt": 1}.items() <= vars(
        ours[0]
    ).items()
