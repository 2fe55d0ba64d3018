"""Twilio's Messages API as it answers on the wire, and Twilio's signed incoming-message webhook.

`POST /2010-04-01/Accounts/{AccountSid}/Messages.json`, form-encoded `To`, `From` or `MessagingServiceSid`, `Body`;
HTTP Basic auth AccountSid:AuthToken. 201 with the Message resource; refusals as
`{"code", "message", "more_info", "status"}` (twilio.com/docs/api/errors): 20003 for credentials, 21604 and
21603 for a missing To and From, 21211 for a To not in E.164 form, 21602 for an empty body, 21617 for one over
1600 characters, 21610 for a number that texted STOP. Twilio also accepts some national forms of a number;
this fake asks for E.164, the form the inbox sends.

`accepted` is the independent witness: every text the fake took, in order. The webhook helpers sign as Twilio
documents (base64 HMAC-SHA1 over the URL then the sorted parameters), written here apart from the inbox's
verifier so that each checks the other.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import threading
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlencode

from tests.fakes.server import FakeServer, Received, Reply

ACCOUNT_SID = "AC" + "0a1b2c3d" * 4
AUTH_TOKEN = "twilio-test-token-5f1e"
E164 = re.compile(r"\+[1-9][0-9]{7,14}")
MESSAGES_PATH = re.compile(r"/2010-04-01/Accounts/(?P<account>[^/]+)/Messages\.json")


def error(status: int, code: int, message: str, headers: dict[str, str] | None = None) -> Reply:
    body = {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }
    return Reply(status, body, headers or {})


def server_error() -> Reply:
    return error(500, 20500, "Internal Server Error")


def too_many_requests(retry_after_s: int | None = None) -> Reply:
    return error(429, 20429, "Too Many Requests", {"retry-after": str(retry_after_s)} if retry_after_s else None)


@dataclass(frozen=True)
class Accepted:
    sid: str
    to: str
    sender: str  # the From number or the Messaging Service SID
    body: str


class FakeTwilio(FakeServer):
    def __init__(
        self, *, account_sid: str = ACCOUNT_SID, auth_token: str = AUTH_TOKEN, opted_out: frozenset[str] = frozenset()
    ) -> None:
        super().__init__()
        self.account_sid, self.auth_token, self.opted_out = account_sid, auth_token, opted_out
        self.accepted: list[Accepted] = []
        self._accepting = threading.Lock()

    def fail_next(self, count: int, *, status: int = 500, retry_after_s: int | None = None) -> None:
        """The next `count` authenticated requests fail with a 500, or a 429 (with Retry-After when given)."""
        reply = too_many_requests(retry_after_s) if status == 429 else server_error()
        self.script(*[reply] * count)

    def answer(self, request: Received) -> Reply:
        route = MESSAGES_PATH.fullmatch(request.path)
        if request.method != "POST" or route is None:
            return error(404, 20404, f"The requested resource {request.path} was not found")
        if not self._authenticated(request, route["account"]):
            return error(401, 20003, "Authenticate", {"www-authenticate": 'Basic realm="Twilio API"'})
        scripted = self.scripted()
        if scripted:
            return scripted
        form = dict(parse_qsl(request.body.decode(), keep_blank_values=True))
        to, body = form.get("To", ""), form.get("Body", "")
        sender = form.get("MessagingServiceSid") or form.get("From", "")
        if not to:
            return error(400, 21604, "A 'To' phone number is required.")
        if not sender:
            return error(400, 21603, "A 'From' phone number is required.")
        if not E164.fullmatch(to):
            return error(400, 21211, f"The 'To' number {to} is not a valid phone number.")
        if not body:
            return error(400, 21602, "Message body is required.")
        if len(body) > 1600:
            return error(400, 21617, "The concatenated message body exceeds the 1600 character limit.")
        if to in self.opted_out:
            return error(400, 21610, "Attempt to send to unsubscribed recipient")
        sid = "SM" + secrets.token_hex(16)
        with self._accepting:
            self.accepted.append(Accepted(sid, to, sender, body))
        return Reply(201, self._resource(sid, form, sender))

    def _authenticated(self, request: Received, account: str) -> bool:
        scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            user, _, password = base64.b64decode(encoded, validate=True).decode().partition(":")
        except ValueError:
            return False
        return user == self.account_sid == account and hmac.compare_digest(password, self.auth_token)

    def _resource(self, sid: str, form: dict[str, str], sender: str) -> dict[str, object]:
        service = form.get("MessagingServiceSid")
        uri = f"/2010-04-01/Accounts/{self.account_sid}/Messages/{sid}.json"
        return {
            "account_sid": self.account_sid,
            "api_version": "2010-04-01",
            "body": form["Body"],
            "date_created": "Thu, 01 Oct 2026 12:00:00 +0000",
            "date_sent": None,
            "date_updated": "Thu, 01 Oct 2026 12:00:00 +0000",
            "direction": "outbound-api",
            "error_code": None,
            "error_message": None,
            # With a Messaging Service Twilio picks the sender later, so `from` is null and the status `accepted`.
            "from": None if service else sender,
            "messaging_service_sid": service,
            "num_media": "0",
            "num_segments": "1",
            "price": None,
            "price_unit": "USD",
            "sid": sid,
            "status": "accepted" if service else "queued",
            "subresource_uris": {"media": uri.replace(".json", "/Media.json")},
            "to": form["To"],
            "uri": uri,
        }


def twilio_signature(auth_token: str, url: str, params: list[tuple[str, str]]) -> str:
    """What Twilio puts in X-Twilio-Signature for a POST of `params` to `url`."""
    data = url
    for name in sorted({name for name, _ in params}):
        for value in sorted(value for key, value in params if key == name):
            data += name + value
    return base64.b64encode(hmac.new(auth_token.encode(), data.encode(), hashlib.sha1).digest()).decode()


@dataclass(frozen=True)
class SignedWebhook:
    """A POST as Twilio makes it to an incoming-message webhook: send `body` with `headers` to `url`."""

    url: str
    params: list[tuple[str, str]]
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def body(self) -> bytes:
        return urlencode(self.params).encode()

    @property
    def signature(self) -> str:
        return self.headers["x-twilio-signature"]


def incoming_sms(
    url: str,
    *,
    from_number: str,
    to_number: str,
    body: str,
    auth_token: str = AUTH_TOKEN,
    account_sid: str = ACCOUNT_SID,
    extra: dict[str, str] | None = None,
) -> SignedWebhook:
    """An incoming text as Twilio's webhook delivers it (twilio.com/docs/messaging/guides/webhook-request), signed."""
    sid = "SM" + secrets.token_hex(16)
    params = [
        ("ToCountry", "US"),
        ("SmsMessageSid", sid),
        ("NumMedia", "0"),
        ("SmsSid", sid),
        ("SmsStatus", "received"),
        ("Body", body),
        ("To", to_number),
        ("NumSegments", "1"),
        ("MessageSid", sid),
        ("AccountSid", account_sid),
        ("From", from_number),
        ("ApiVersion", "2010-04-01"),
        *(extra or {}).items(),
    ]
    headers = {
        "content-type": "application/x-www-form-urlencoded",
        "x-twilio-signature": twilio_signature(auth_token, url, params),
        # Twilio's retries of one webhook carry the same token.
        "i-twilio-idempotency-token": secrets.token_hex(16),
    }
    return SignedWebhook(url, params, headers)
