"""The mail room's Prometheus metrics: messages sent and bounced, addresses suppressed (by why); on each process's
/metrics with the platform's. A counter each, no I/O: the send path pays one increment."""

from __future__ import annotations

from prometheus_client import Counter

SENT = Counter(
    "leadflood_inbox_messages_sent_total", "Messages a provider accepted (marked sent), by channel", ["channel"]
)
SENT_EMAIL = SENT.labels("email")
# `refused`: the server or provider refused it at send; `reported`: a bounce report came back for it.
BOUNCED = Counter("leadflood_inbox_messages_bounced_total", "Messages that bounced, by how we learnt it", ["how"])
# Unsubscribes are the reasons `unsubscribed` (a link, a STOP) and `complained`.
SUPPRESSED = Counter(
    "leadflood_inbox_suppressions_added_total", "Addresses and numbers an org's suppression list gained, by reason",
    ["reason"],
)  # fmt: skip
