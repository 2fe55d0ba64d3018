"""Text messages: sending one through Twilio (or the sandbox), and checking and reading Twilio's inbound webhook.

Sending follows Twilio's Messages API: `POST /2010-04-01/Accounts/{AccountSid}/Messages.json`, form-encoded `To`,
`From` (or `MessagingServiceSid`) and `Body`, HTTP Basic auth as AccountSid:AuthToken; 201 with the Message
resource (`sid`, `status`) on success, `{"code", "message", "more_info", "status"}` on a refusal. Rate limits
(429), outages (5xx) and network faults follow the platform's one retry policy (leadflood_platform.http_retry);
any other refusal is permanent: SmsRefused, carrying Twilio's error code.

Twilio documents no idempotency key for creating a Message (`I-Twilio-Idempotency-Token` is a header Twilio
sends on its own webhooks), so a create that timed out after Twilio accepted it and is then tried again can
put a second text on the phone. The window is the same as email's RFC 1047 one: the reply lost in flight.

Inbound texts arrive as Twilio's form-encoded webhook, signed in `X-Twilio-Signature`: base64 of HMAC-SHA1,
keyed by the auth token, over the full URL Twilio called followed by every POST parameter, sorted by name,
as name then value (twilio.com/docs/usage/webhooks/webhooks-security; the reference is twilio-python's
RequestValidator, which also accepts the URL with or without its default port).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import re
import secrets
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Protocol, cast
from urllib.parse import quote, urlsplit, urlunsplit

import httpx

from leadflood_platform import phones
from leadflood_platform.errors import FieldViolation, InvalidArgument, Unavailable, quoted
from leadflood_platform.http_retry import (
    ProviderAPI,
    ProviderAuthError,
    ProviderRejected,
    ProviderUnavailable,
    Sleep,
    send_with_retries,
)

PROVIDERS = ("sandbox", "twilio")
TWILIO_API = "https://api.twilio.com"
# The settings that configure the Twilio adapter, named in the errors a user sees when one is missing.
ACCOUNT_SID_SETTING, AUTH_TOKEN_SETTING, FROM_SETTING = "TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_FROM"
# Twilio refuses a body longer than this (error 21617); the sender should refuse it before queuing.
MAX_BODY = 1600

# Twilio error codes (twilio.com/docs/api/errors) that say the recipient's number cannot take a text:
# the message bounced, and sending it again to that number cannot help.
INVALID_TO, UNSUBSCRIBED, NOT_MOBILE, LANDLINE = 21211, 21610, 21614, 21635
UNDELIVERABLE = frozenset({INVALID_TO, UNSUBSCRIBED, NOT_MOBILE, LANDLINE})
AUTHENTICATE = 20003

_MESSAGING_SERVICE = re.compile(r"MG[0-9a-fA-F]{32}")


# What a refusal means, in words, for the codes the mail room meets (twilio.com/docs/api/errors).
EMPTY_BODY, TOO_LONG = 21602, 21617
_MEANING = {
    INVALID_TO: "the provider refused the number as invalid",
    UNSUBSCRIBED: "the recipient texted STOP to this number, so the provider sends them nothing until they text START",
    NOT_MOBILE: "the provider refused the number as not a mobile number",
    LANDLINE: "the provider refused the number as a landline, which cannot take texts",
    EMPTY_BODY: "the provider refused an empty text",
    TOO_LONG: f"the provider refused the text as longer than {MAX_BODY:,} characters",
    AUTHENTICATE: "the provider refused the account's credentials",
}


class SmsRefused(ProviderRejected):
    """The provider refused this text for good; its error code says why. Never tried again.

    It reads as a person would say it, the code named once: "the provider refused the number as invalid (Twilio
    error 21211): The 'To' number ... is not a valid phone number". `undeliverable` means the number is at fault
    (the message bounced, which the send job handles); `opted_out` means the recipient texted STOP to this sender,
    which Twilio enforces until they text START. `detail` keeps the provider's own words alone.
    """

    def __init__(self, code: int, detail: str, *, status: int, provider: str) -> None:
        super().__init__(refusal_words(code, detail), provider=provider, status=status)
        self.code, self.detail = code, detail

    @property
    def undeliverable(self) -> bool:
        return self.code in UNDELIVERABLE

    @property
    def opted_out(self) -> bool:
        return self.code == UNSUBSCRIBED


def refusal_words(code: int, detail: str) -> str:
    """A refusal in words: what the code means, the code (Twilio's, which the sandbox mirrors), the provider's words."""
    meaning = _MEANING.get(code, "the provider refused the text")
    said = f"{meaning} (Twilio error {code})" if code else meaning
    return f"{said}: {detail}" if detail else said


class SmsSender(Protocol):
    name: str

    async def send_sms(self, *, to: str, body: str) -> str:
        """The provider's id for the accepted message; SmsRefused, or RetryableJobError when transient."""
        ...


class _LastReply:
    """The shared client as send_with_retries uses it (`send` only), keeping the last reply: the platform's
    ProviderRejected keeps Twilio's words but not its error code, and the code is what says what a refusal means."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client
        self.reply: httpx.Response | None = None

    async def send(self, request: httpx.Request) -> httpx.Response:
        self.reply = await self.client.send(request)
        return self.reply


class TwilioSms(ProviderAPI):
    """Twilio's Messages API. `sender` is the From number (E.164) or a Messaging Service SID (MG...)."""

    name = "twilio"

    def __init__(
        self,
        *,
        account_sid: str,
        auth_token: str,
        sender: str,
        client: httpx.AsyncClient,
        base_url: str = TWILIO_API,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        super().__init__(api_key=auth_token, base_url=base_url, client=client, sleep=sleep)
        self.account_sid, self.sender = account_sid, sender
        credentials = base64.b64encode(f"{account_sid}:{auth_token}".encode()).decode()
        self._authorization = f"Basic {credentials}"

    @property
    def messages_path(self) -> str:
        return f"/2010-04-01/Accounts/{quote(self.account_sid, safe='')}/Messages.json"

    async def send_sms(self, *, to: str, body: str) -> str:
        sender_field = "MessagingServiceSid" if _MESSAGING_SERVICE.fullmatch(self.sender) else "From"
        request = self.client.build_request(
            "POST",
            self.base_url + self.messages_path,
            data={"To": to, sender_field: self.sender, "Body": body},
            headers={"authorization": self._authorization, "accept": "application/json"},
        )
        witness = _LastReply(self.client)
        try:
            # send_with_retries calls only `send` on the client it is given.
            response = await send_with_retries(
                cast(httpx.AsyncClient, witness),
                request,
                provider=self.name,
                rate_limit_statuses=self.rate_limit_statuses,
                sleep=self.sleep,
            )
        except ProviderRejected as exc:
            raise self._refusal(exc, witness.reply) from exc
        reply = response.json()
        sid = reply.get("sid") if isinstance(reply, dict) else None
        if not isinstance(sid, str) or not sid:
            raise ProviderUnavailable("twilio: the reply names no message sid", provider=self.name)
        return sid

    def _refusal(self, exc: ProviderRejected, reply: httpx.Response | None) -> SmsRefused:
        code = _twilio_code(reply)
        # A 403 can also be a permission of the account (a test account, a region) with a code of its own.
        if isinstance(exc, ProviderAuthError) and (exc.status == 401 or code == AUTHENTICATE):
            detail = f"{exc} (HTTP {exc.status}): check {ACCOUNT_SID_SETTING} and {AUTH_TOKEN_SETTING}"
            return SmsRefused(code or AUTHENTICATE, detail, status=exc.status, provider=self.name)
        return SmsRefused(code, str(exc), status=exc.status, provider=self.name)


def _twilio_code(reply: httpx.Response | None) -> int:
    """Twilio's error code in a refusal's JSON (`{"code": 21211, ...}`), 0 when it has none."""
    try:
        body = reply.json() if reply is not None else None
    except ValueError:
        return 0
    code = body.get("code") if isinstance(body, dict) else None
    return code if isinstance(code, int) else 0


@dataclass(frozen=True)
class SandboxText:
    sid: str
    to: str
    body: str


class SandboxSms:
    """The embedded default: accepts every text and keeps the latest `keep` of them, sending nothing.

    Sandbox behaviours, documented for users the way payment sandboxes document test cards: a number containing
    5550100 is refused as not a valid phone number (21211), and so are Twilio's own test numbers: +15005550001
    invalid (21211), +15005550004 unsubscribed by STOP (21610), +15005550009 not a mobile number (21614).
    A number not in E.164 form is refused with 21211 and an empty body with 21602, as Twilio does.
    """

    name = "sandbox"
    REFUSED = {
        "5550100": (INVALID_TO, "is not a valid phone number (sandbox: numbers containing 5550100 are refused)"),
        "+15005550001": (INVALID_TO, "is not a valid phone number"),
        "+15005550004": (UNSUBSCRIBED, "has replied STOP: Attempt to send to unsubscribed recipient"),
        "+15005550009": (NOT_MOBILE, "is not a valid mobile number"),
    }

    def __init__(self, *, keep: int = 1000) -> None:
        self.sent: deque[SandboxText] = deque(maxlen=keep)

    async def send_sms(self, *, to: str, body: str) -> str:
        refused = next((why for number, why in self.REFUSED.items() if number in to), None)
        if refused is None and not phones.is_e164(to):
            refused = (INVALID_TO, "is not a valid phone number")
        if refused is not None:
            code, words = refused
            raise SmsRefused(code, f"The 'To' number {to} {words}", status=400, provider=self.name)
        if not body.strip():
            raise SmsRefused(21602, "Message body is required.", status=400, provider=self.name)
        text = SandboxText(sid="SM" + secrets.token_hex(16), to=to, body=body)
        self.sent.append(text)
        return text.sid


def sms_sender(
    choice: str, *, account_sid: str, auth_token: str, from_number: str, base_url: str, client: httpx.AsyncClient
) -> SmsSender:
    """The sender `choice` names; INVALID_ARGUMENT when unknown, UNAVAILABLE naming each missing Twilio setting.

    `client` must carry an explicit timeout (see leadflood_platform.http_retry).
    """
    if choice == "sandbox":
        return SandboxSms()
    if choice != "twilio":
        raise InvalidArgument.on(
            "sms_provider", f"unknown SMS provider {quoted(choice)}; use one of {', '.join(PROVIDERS)}"
        )
    settings = ((ACCOUNT_SID_SETTING, account_sid), (AUTH_TOKEN_SETTING, auth_token), (FROM_SETTING, from_number))
    missing = [name for name, value in settings if not value]
    if missing:
        verb = "is" if len(missing) == 1 else "are"
        raise Unavailable(f"{' and '.join(missing)} {verb} not set: the twilio SMS provider is not configured")
    sender = sender_of(from_number)
    if not _MESSAGING_SERVICE.fullmatch(sender) and not phones.is_e164(sender):
        raise Unavailable(
            f"{FROM_SETTING} must be a phone number in E.164 form (+14155550123) or a Messaging Service SID (MG...)"
        )
    return TwilioSms(account_sid=account_sid, auth_token=auth_token, sender=sender, base_url=base_url, client=client)


def sender_of(from_setting: str) -> str:
    """What texts are sent from, as TWILIO_FROM gives it: a number without its separators, or a Messaging Service SID
    (MG...); "" for none (the sandbox). Outbound texts store it as their sender, and a text back is matched by it."""
    sender = from_setting.strip()
    return sender if _MESSAGING_SERVICE.fullmatch(sender) else phones.SEPARATORS.sub("", sender)


Params = Mapping[str, str] | Iterable[tuple[str, str]]


def _pairs(params: Params) -> list[tuple[str, str]]:
    return list(params.items()) if isinstance(params, Mapping) else list(params)


def _url_variants(url: str) -> set[str]:
    """The URL as given, without its port, and with its scheme's default port: Twilio signs one of these
    depending on how the webhook was configured, and twilio-python's validator accepts each."""
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        return {url}
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return {url}
    if port is None:
        default = 443 if parts.scheme == "https" else 80
        return {url, urlunsplit(parts._replace(netloc=f"{parts.netloc}:{default}"))}
    return {url, urlunsplit(parts._replace(netloc=parts.netloc.rsplit(":", 1)[0]))}


def _signature(auth_token: str, url: str, pairs: list[tuple[str, str]]) -> bytes:
    # Sorted by name, and by value within a name: twilio-python's order for repeated parameters.
    data = url + "".join(name + value for name, value in sorted(pairs))
    return base64.b64encode(hmac.new(auth_token.encode(), data.encode(), hashlib.sha1).digest())


def verify_twilio_signature(auth_token: str, url: str, params: Params, signature: str) -> bool:
    """Whether `signature` (the X-Twilio-Signature header) is Twilio's for this URL and these POST parameters.

    `url` is the full URL Twilio called, query string included, as the public sees it (not the address a proxy
    forwarded to); `params` the form fields as received, repeated names as repeated pairs. An empty token or
    signature is never valid. Compared in constant time.
    """
    if not auth_token or not signature:
        return False
    given, pairs = signature.strip().encode(), _pairs(params)
    matches = [hmac.compare_digest(_signature(auth_token, variant, pairs), given) for variant in _url_variants(url)]
    return any(matches)


# Twilio's default keywords (help.twilio.com "Twilio support for opt-out keywords (SMS STOP filtering)"; the
# Advanced Opt-Out guide adds REVOKE and OPTOUT). Twilio acts only on a message that is the keyword alone, and
# blocks the sender's texts to that number until an opt-in keyword; the inbox mirrors it so the two agree.
OPT_OUT_KEYWORDS = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT"})
OPT_IN_KEYWORDS = frozenset({"START", "UNSTOP", "YES"})
HELP_KEYWORDS = frozenset({"HELP", "INFO"})
OPT_OUT, OPT_IN, HELP = "opt-out", "opt-in", "help"
# Advanced Opt-Out tells us which kind of keyword matched (its own, in any language) in `OptOutType`.
_OPT_OUT_TYPE = {"STOP": OPT_OUT, "START": OPT_IN, "HELP": HELP}


@dataclass(frozen=True)
class InboundSms:
    message_sid: str
    account_sid: str
    from_number: str
    to_number: str
    body: str
    num_media: int
    # OPT_OUT, OPT_IN, HELP, or "" for an ordinary message.
    keyword: str
    # The Messaging Service the number it was sent to belongs to ("" for none).
    messaging_service_sid: str = ""

    @property
    def sent_to(self) -> tuple[str, ...]:
        """What it was sent to, as our texts store their sender (sender_of): the number, and its Messaging Service."""
        return tuple(sender for sender in (sender_of(self.to_number), self.messaging_service_sid) if sender)

    @property
    def opts_out(self) -> bool:
        return self.keyword == OPT_OUT

    @property
    def opts_in(self) -> bool:
        return self.keyword == OPT_IN


def keyword_of(body: str) -> str:
    """OPT_OUT, OPT_IN or HELP when the message is that keyword alone, else "".

    Opting out is read generously (any case, spaces and punctuation ignored: "Stop.", "stop all", "opt-out"),
    since wrongly sending again is the worse mistake; opting in only from the exact word, any case.
    """
    word = body.strip().upper()
    if word in OPT_IN_KEYWORDS:
        return OPT_IN
    if word in HELP_KEYWORDS:
        return HELP
    if len(word) <= 20 and re.sub(r"[^A-Z]", "", word) in OPT_OUT_KEYWORDS:
        return OPT_OUT
    return ""


def parse_inbound(params: Params) -> InboundSms:
    """The text in Twilio's incoming-message webhook (after its signature was checked); INVALID_ARGUMENT when a
    field Twilio always sends (MessageSid, From, To) is missing."""
    fields = dict(_pairs(params))
    missing = [name for name in ("MessageSid", "From", "To") if not fields.get(name, "").strip()]
    if missing:
        raise InvalidArgument(
            f"not a Twilio incoming message: missing {', '.join(missing)}",
            [FieldViolation(name, "required") for name in missing],
        )
    body = fields.get("Body", "")
    media = fields.get("NumMedia", "0")
    return InboundSms(
        message_sid=fields["MessageSid"].strip(),
        account_sid=fields.get("AccountSid", "").strip(),
        from_number=fields["From"].strip(),
        to_number=fields["To"].strip(),
        body=body,
        num_media=int(media) if media.isdigit() else 0,
        keyword=_OPT_OUT_TYPE.get(fields.get("OptOutType", "").strip().upper()) or keyword_of(body),
        messaging_service_sid=fields.get("MessagingServiceSid", "").strip(),
    )
