"""The pages of each search run this process is applying at once, and the people they share.

Providers repeat people across pages, so two pages of a run in flight usually share a few. Upserted
in one sorted sweep, the later page would stop at the first shared row until the earlier page
commits: the pages would take turns, one CPU idle. Instead the later page first upserts the people
no earlier page in flight has, then waits for those pages' transactions to end, then upserts the
shared people: by then they are this run's leads already (duplicates), or, if an earlier page rolled
back, new leads of this page.

Only the order depends on this registry: every row of a page is still upserted, so a page that rolls
back loses no one, and a page applied by another process meets the plain row-lock waits. The wait
is on an advisory lock each page holds for its transaction, so PostgreSQL's deadlock detector sees it.
"""

from __future__ import annotations

import contextlib
import hashlib
import uuid
from collections.abc import Iterable, Iterator


def lock_key(run_id: uuid.UUID, batch: int) -> int:
    """The advisory lock a page of a run holds while it is applied (64-bit; a collision only adds a wait)."""
    digest = hashlib.blake2b(run_id.bytes + batch.to_bytes(8, "big", signed=True), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


class PagesInFlight:
    """Per search run, the keys of the pages being applied: one per process, shared by its requests."""

    def __init__(self) -> None:
        self._runs: dict[uuid.UUID, dict[int, frozenset[str]]] = {}

    @contextlib.contextmanager
    def applying(self, run_id: uuid.UUID, batch: int) -> Iterator[Page]:
        """A page for the span of its transaction: it leaves the registry once committed or rolled back."""
        page = Page(self._runs, run_id, batch)
        try:
            yield page
        finally:
            page.leave()

    def runs(self) -> int:
        """Runs with a page in flight (for tests: an empty registry after the pages are done)."""
        return len(self._runs)


class Page:
    def __init__(self, runs: dict[uuid.UUID, dict[int, frozenset[str]]], run_id: uuid.UUID, batch: int) -> None:
        self._runs, self.run_id, self.batch = runs, run_id, batch
        self.lock_key = lock_key(run_id, batch)
        self._keys: frozenset[str] | None = None

    def join(self, keys: Iterable[str]) -> dict[int, set[str]]:
        """Registers this page's people; returns the earlier pages in flight that share some, with those people.

        Call it holding this page's advisory lock, so a later page that waits on it waits for this transaction.
        """
        pages = self._runs.setdefault(self.run_id, {})
        self._keys = mine = frozenset(keys)
        earlier = {batch: set(mine & theirs) for batch, theirs in pages.items() if not mine.isdisjoint(theirs)}
        pages[self.batch] = mine
        return earlier

    def leave(self) -> None:
        pages = self._runs.get(self.run_id)
        # The same page resent may have joined since (after this one rolled back): its entry stays.
        if pages is not None and self._keys is not None and pages.get(self.batch) is self._keys:
            del pages[self.batch]
            if not pages:
                del self._runs[self.run_id]
