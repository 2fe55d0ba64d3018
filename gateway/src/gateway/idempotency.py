"""Idempotency-Key on every POST: the first request with a key is answered and its answer stored (per user,
with an expiry, in PostgreSQL); the same key with the same request gets that answer again, the same key with
another request a 422. ASGI middleware, so it holds for every POST route, those added later included."""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import re
import uuid
from http import HTTPStatus
from typing import Any

import jwt
from sqlalchemy.exc import DBAPIError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger(__name__)

HEADER = b"idempotency-key"
_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")  # visible ASCII, as a header carries it safely
# Answers about the caller's state rather than the request (not signed in, not allowed, over a limit), and
# failures of ours: not kept, so the same key works once the caller or the server is in order again.
_NOT_KEPT = frozenset({401, 403, 408, 429})
MAX_STORED_BODY = 1_000_000
# A first request still unanswered after this long died with its process: the key is free again.
ABANDONED_S = 60


def problem(status: int, detail: str, scope: Scope, **members: Any) -> bytes:
    body = {
        "type": f"https://leadflood.dev/problems/{HTTPStatus(status).phrase.lower().replace(' ', '-')}",
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        "instance": scope["path"],
        "requestId": scope.get("state", {}).get("request_id"),
        **members,
    }
    return json.dumps(body).encode()


async def _answer(send: Send, status: int, body: bytes, content_type: str, extra: list[tuple[bytes, bytes]]) -> None:
    headers = [(b"content-type", content_type.encode()), (b"content-length", str(len(body)).encode()), *extra]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class Idempotency:
    def __init__(self, app: ASGIApp, *, ttl_s: int) -> None:
        self.app, self.ttl_s = app, ttl_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        raw_key = headers.get(HEADER)
        user_id = self._user(scope, headers) if raw_key is not None else None
        if raw_key is None or user_id is None:  # no key, or not signed in: the route answers as it would
            await self.app(scope, receive, send)
            return
        key = raw_key.decode("latin-1")
        if not _KEY.match(key):
            error = {"field": "Idempotency-Key", "message": "1 to 255 visible ASCII characters"}
            body = problem(422, "the Idempotency-Key header is not valid", scope, errors=[error])
            await _answer(send, 422, body, "application/problem+json", [])
            return
        request_body = await self._read(receive)
        if request_body is None:
            return  # the client went away
        digest = hashlib.sha256()
        for part in (scope["path"].encode(), b"?", scope.get("query_string", b""), b"\n", request_body):
            digest.update(part)
        fingerprint = digest.hexdigest()
        db = scope["app"].state.db
        for _ in range(3):  # a first request that failed meanwhile frees its key: claim it then
            try:
                claimed = await self._claim(db, user_id, key, fingerprint)
            except DBAPIError:
                log.warning("idempotency key not stored; answering without it", exc_info=True)
                await self.app(scope, _replay(request_body, receive), send)
                return
            if claimed:
                await self._first(scope, _replay(request_body, receive), send, db, user_id, key)
                return
            stored = await self._stored(db, user_id, key)
            if stored is None:
                continue
            if stored["fingerprint"] != fingerprint:
                detail = "this Idempotency-Key was used with another request; use a new key for a new request"
                await _answer(send, 422, problem(422, detail, scope), "application/problem+json", [])
                return
            if stored["status"] is None:
                detail = "a request with this Idempotency-Key is still being answered; try again in a moment"
                body = problem(409, detail, scope)
                await _answer(send, 409, body, "application/problem+json", [(b"retry-after", b"1")])
                return
            extra = [(b"idempotent-replayed", b"true")]
            if stored["location"]:
                extra.append((b"location", stored["location"].encode()))
            await _answer(send, stored["status"], stored["body"] or b"", stored["content_type"] or "", extra)
            return
        await self.app(scope, _replay(request_body, receive), send)

    def _user(self, scope: Scope, headers: dict[bytes, bytes]) -> uuid.UUID | None:
        scheme, _, token = headers.get(b"authorization", b"").decode("latin-1").partition(" ")
        if scheme.lower() != "bearer" or not token:
            return None
        policy = scope["app"].state.token_policy
        try:
            claims = jwt.decode(token, policy.secret, algorithms=["HS256"], options={"require": ["exp", "sub"]})
            return uuid.UUID(claims["sub"]) if claims.get("typ") == "access" else None
        except (jwt.PyJWTError, ValueError, TypeError):
            return None  # the route refuses it with its 401

    @staticmethod
    async def _read(receive: Receive) -> bytes | None:
        chunks, more = [], True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return None
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        return b"".join(chunks)

    async def _claim(self, db: Any, user_id: uuid.UUID, key: str, fingerprint: str) -> bool:
        async with db.driver(transaction=False) as conn:
            return bool(
                await conn.fetchval(
                    """
                    INSERT INTO idempotency_keys AS k (user_id, key, fingerprint, expires_at)
                    VALUES ($1, $2, $3, now() + make_interval(secs => $4))
                    ON CONFLICT (user_id, key) DO UPDATE SET
                        fingerprint = excluded.fingerprint, status = NULL, content_type = NULL, location = NULL,
                        body = NULL, created_at = now(), expires_at = excluded.expires_at
                    WHERE k.expires_at < now()
                       OR (k.status IS NULL AND k.created_at < now() - make_interval(secs => $5))
                    RETURNING true
                    """,
                    user_id,
                    key,
                    fingerprint,
                    float(self.ttl_s),
                    float(ABANDONED_S),
                )
            )

    @staticmethod
    async def _stored(db: Any, user_id: uuid.UUID, key: str) -> Any:
        async with db.driver(transaction=False) as conn:
            return await conn.fetchrow(
                "SELECT fingerprint, status, content_type, location, body FROM idempotency_keys"
                " WHERE user_id = $1 AND key = $2 AND expires_at > now()",
                user_id,
                key,
            )

    async def _first(self, scope: Scope, receive: Receive, send: Send, db: Any, user_id: uuid.UUID, key: str) -> None:
        """The first request with the key: answered by the app, its answer kept (or the key let go)."""
        status, content_type, location, body, size = 500, "", None, [], 0

        async def keeping(message: Message) -> None:
            nonlocal status, content_type, location, size
            if message["type"] == "http.response.start":
                status = message["status"]
                for name, value in message.get("headers", []):
                    if name.lower() == b"content-type":
                        content_type = value.decode("latin-1")
                    elif name.lower() == b"location":
                        location = value.decode("latin-1")
            elif message["type"] == "http.response.body":
                size += len(message.get("body", b""))
                if size <= MAX_STORED_BODY:
                    body.append(message.get("body", b""))
            await send(message)

        kept = False
        try:
            await self.app(scope, receive, keeping)
            if status < 500 and status not in _NOT_KEPT and size <= MAX_STORED_BODY:
                async with db.driver(transaction=False) as conn:
                    await conn.execute(
                        "UPDATE idempotency_keys SET status = $3, content_type = $4, location = $5, body = $6"
                        " WHERE user_id = $1 AND key = $2",
                        user_id,
                        key,
                        status,
                        content_type,
                        location,
                        b"".join(body),
                    )
                kept = True
        finally:
            if not kept:  # shielded: a cancelled request still lets its key go
                await asyncio.shield(self._release(db, user_id, key))

    @staticmethod
    async def _release(db: Any, user_id: uuid.UUID, key: str) -> None:
        try:
            async with db.driver(transaction=False) as conn:
                await conn.execute(
                    "DELETE FROM idempotency_keys WHERE user_id = $1 AND key = $2 AND status IS NULL", user_id, key
                )
        except DBAPIError:
            log.warning("idempotency key not released; it frees itself after %s s", ABANDONED_S, exc_info=True)


def _replay(body: bytes, receive: Receive) -> Receive:
    """The body already read, handed to the app as one message; after it, the client's own (a disconnect)."""
    sent = False

    async def replayed() -> Message:
        nonlocal sent
        if sent:
            return await receive()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replayed
