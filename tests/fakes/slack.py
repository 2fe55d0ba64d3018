"""A Slack incoming webhook as it answers on the wire: POST a JSON body with `text`, get `200 ok` (text/plain).

Slack answers `400 invalid_payload` to a body without `text` and `no_text` to an empty one. `messages` is the
independent witness: every alert text posted, in order.
"""

from __future__ import annotations

import json

from tests.fakes.server import FakeServer, Received, Reply

PATH = "/services/T000/B000/XXXXXXXX"


class FakeSlack(FakeServer):
    @property
    def webhook_url(self) -> str:
        return self.url + PATH

    @property
    def messages(self) -> list[dict]:
        return [json.loads(r.body) for r in self.received if r.method == "POST" and r.path == PATH]

    def answer(self, request: Received) -> Reply:
        if (scripted := self.scripted()) is not None:
            return scripted
        if request.method != "POST" or request.path != PATH:
            return Reply(404, "no_service", {"content-type": "text/plain"})
        try:
            body = json.loads(request.body)
        except ValueError:
            return Reply(400, "invalid_payload", {"content-type": "text/plain"})
        if not isinstance(body, dict) or not body.get("text"):
            return Reply(400, "no_text", {"content-type": "text/plain"})
        return Reply(200, "ok", {"content-type": "text/plain"})
