"""Group commit: what concurrent callers submit is done a batch at a time by one function.

What arrives while a batch runs goes in the next, so a lone item waits for nobody, and under load a batch's
round trips and its commit (with its WAL flush) are shared by everyone in it. PostgreSQL itself does this
with its WAL flushes; here it saves the BEGIN, the COMMIT and the statements a batch can share.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")
V = TypeVar("V")


@dataclass(frozen=True)
class Submitted(Generic[T]):
    """An item with its caller's context (log fields, trace): a batch runs for many callers, so the part of it
    done for one of them runs in that caller's context (`within`), and what it logs or writes names that caller."""

    item: T
    context: contextvars.Context

    async def within(self, fn: Callable[..., Awaitable[V]], *args: Any) -> V:
        return await asyncio.create_task(fn(*args), context=self.context.copy())


class GroupCommit(Generic[T, R]):
    """`await submit(item)` returns what `run(batch)` gave for that item.

    `run` gets up to `max_batch` items (each with its caller's context) in the order they were submitted and
    returns one result per item, in
    that order; a result that is an exception is raised to that item's caller alone. An exception out of `run`
    is raised to every caller of the batch. A caller cancelled while waiting does not take its item out of a
    batch that has started.
    """

    def __init__(
        self, run: Callable[[list[Submitted[T]]], Awaitable[Sequence[R | BaseException]]], *, max_batch: int
    ) -> None:
        if max_batch < 1:
            raise ValueError("max_batch must be at least 1")
        self._run, self.max_batch = run, max_batch
        self._waiting: list[tuple[Submitted[T], asyncio.Future[R]]] = []
        self._running = False
        # The batch task, kept referenced (the event loop holds only weak references to tasks).
        self._task: asyncio.Task[None] | None = None

    async def submit(self, item: T) -> R:
        done: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._waiting.append((Submitted(item, contextvars.copy_context()), done))
        if not self._running:
            self._running = True
            # In a context of its own: the batch serves many callers, so it must not carry the first one's
            # (its log fields, its trace); `run` binds each item's where it needs to.
            self._task = asyncio.create_task(self._run_all(), context=contextvars.Context())
        return await done

    async def _run_all(self) -> None:
        try:
            while self._waiting:
                batch, self._waiting = self._waiting[: self.max_batch], self._waiting[self.max_batch :]
                try:
                    results = await self._run([item for item, _ in batch])
                    if len(results) != len(batch):
                        raise RuntimeError(f"a batch of {len(batch)} gave {len(results)} results")
                except BaseException as exc:  # every caller of the batch is told
                    for _, done in batch:
                        if not done.done():
                            done.set_exception(exc)
                    if isinstance(exc, asyncio.CancelledError | KeyboardInterrupt | SystemExit):
                        raise
                    continue
                for (_, done), result in zip(batch, results, strict=True):
                    if done.done():
                        continue
                    if isinstance(result, BaseException):
                        done.set_exception(result)
                    else:
                        done.set_result(result)
        finally:
            self._running = False
            # Cancelled mid-batch (the loop stopping): whoever still waits is told rather than left hanging.
            for _, done in self._waiting:
                if not done.done():
                    done.set_exception(RuntimeError("the group commit stopped"))
            self._waiting = []
