"""A CSV import: a file's rows as they stream in, checked and merged by email, then applied all at once.

Nothing is written until the file's last part has arrived, so an import cut off part-way (too many
rows, a body over the size limit, a client that went away) leaves no leads behind. The last part says
it is the last: a cancelled stream can look to the service like one that ended, and must not be
taken for a whole file. One upsert in email order takes its row locks in the order a search run's
pages take theirs, and can run again after a deadlock.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import replace

import asyncpg

from leadflood.leads.v1 import leads_pb2
from leadflood_platform.errors import FailedPrecondition, InvalidArgument, ResourceExhausted
from leads import events, ingest
from leads.service import IMPORTED_FIELDS, NewLead

MAX_ROWS = 100_000
# Files held and written at once by one leads service process: importing a 100,000-row file took the
# process to 250 MB at its peak (measured), and a container has 512 MiB.
MAX_AT_ONCE = 2
MAX_REPORTED_ERRORS = 1_000  # listed by line; the reply counts them all
# Leads named per event: a file's worth of refs in one event would pass NATS's 1 MB message limit.
EVENT_REFS = 1_000


class ImportSlots:
    """How many files this process is importing; one more than MAX_AT_ONCE is turned away, not queued."""

    def __init__(self, limit: int = MAX_AT_ONCE) -> None:
        self.limit, self.taken = limit, 0

    @contextlib.contextmanager
    def slot(self) -> Iterator[None]:
        if self.taken >= self.limit:
            raise ResourceExhausted(
                f"{self.limit} imports are already under way; import this file when one of them has finished"
            )
        self.taken += 1
        try:
            yield
        finally:
            self.taken -= 1


class ImportedFile:
    """Rows added part by part (`add`), then written in one go (`apply`) inside the caller's transaction."""

    def __init__(self) -> None:
        self.accepted: dict[str, ingest.Row] = {}  # by normalised email, in the order first seen
        self.errors: list[tuple[int, str]] = []  # (line, message), the first MAX_REPORTED_ERRORS
        self.failed = 0
        self.repeats = 0  # rows naming an email an earlier row named: each updates that lead
        self.rows = 0
        self.whole = False  # the last part has come

    def add(self, part: leads_pb2.ImportLeadsRequest) -> None:
        """Check and merge a part of the file; a bad row is an error on its line and never stops the rest."""
        if self.whole:
            raise InvalidArgument.on("last", "a part came after the part marked last: nothing was imported")
        self.whole = part.last
        self._add(part.rows)

    def _add(self, rows: Iterable[leads_pb2.ImportRow]) -> None:
        for row in rows:
            self.rows += 1
            if self.rows > MAX_ROWS:
                raise ResourceExhausted(f"at most {MAX_ROWS:,} rows per import: nothing was imported")
            try:
                new = NewLead(
                    row.email, row.first_name, row.last_name, row.company_name, row.title, "import", row.phone
                )
                new = new.validated()
            except InvalidArgument as exc:
                self.failed += 1
                if len(self.errors) < MAX_REPORTED_ERRORS:
                    self.errors.append((row.line, exc.message))
                continue
            earlier = self.accepted.get(new.email)
            if earlier is not None:
                self.repeats += 1
                # As if applied one after the other: a later row's value wins, an empty one keeps the earlier's.
                new = replace(new, **{name: getattr(new, name) or getattr(earlier, name) for name in IMPORTED_FIELDS})
            supplied = [name for name in IMPORTED_FIELDS if getattr(new, name)]
            self.accepted[new.email] = ingest.Row(
                email=new.email,
                first_name=new.first_name,
                last_name=new.last_name,
                company_name=new.company_name,
                title=new.title,
                phone=new.phone,
                edited=",".join(supplied),
            )

    def require_whole(self) -> None:
        """FailedPrecondition unless the part marked last has come: a cut-off file is never written."""
        if not self.whole:
            raise FailedPrecondition("the file ended before its last part: nothing was imported")

    async def apply(self, connection: asyncpg.Connection, org_id: uuid.UUID) -> tuple[int, int]:
        """(created, updated): upserts every accepted row and queues their events, in the caller's transaction."""
        self.require_whole()
        rows = list(self.accepted.values())
        if not rows:
            return 0, self.repeats
        applied = await ingest.upsert(connection, rows, org_id=org_id, source="import")
        created = [row for row in rows if row.key in applied.created]
        updated = [row for row in rows if row.key not in applied.created]
        for start in range(0, max(len(created), len(updated)), EVENT_REFS):
            end = start + EVENT_REFS
            await events.publish_rows(
                connection, org_id, applied, created=created[start:end], updated=updated[start:end]
            )
        return len(created), len(updated) + self.repeats
