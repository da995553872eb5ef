"""The gateway's single database writer: batches messages, stores them, then answers each sender.

Every message is acknowledged only after the transaction holding it committed. Two lanes,
each with its own thread and connection: life-safety events never wait behind a batch of
telemetry.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from concurrent.futures import ThreadPoolExecutor

from django.db import close_old_connections

from linli.events import types
from linli.events.models import Lane
from linli.events.pipeline import Incoming, Stored, store

log = logging.getLogger("linli.events.writer")


class _LaneWriter:
    def __init__(self, name: str, *, max_batch: int, max_wait_s: float):
        self.name = name
        self.max_batch = max_batch
        self.max_wait_s = max_wait_s
        self.queue: asyncio.Queue[tuple[Incoming, asyncio.Future[Stored]]] = asyncio.Queue()
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"linli-writer-{name}")
        self.task: asyncio.Task | None = None
        self.batches = 0

    def start(self) -> None:
        self.task = asyncio.get_running_loop().create_task(self._run(), name=f"writer-{self.name}")

    async def stop(self) -> None:
        if self.task:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task
        self.executor.shutdown(wait=True)

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            first = await self.queue.get()
            batch = [first]
            deadline = loop.time() + self.max_wait_s
            while len(batch) < self.max_batch:
                timeout = deadline - loop.time()
                if timeout <= 0 and self.queue.empty():
                    break
                try:
                    batch.append(self.queue.get_nowait() if timeout <= 0 else
                                 await asyncio.wait_for(self.queue.get(), timeout))
                except (asyncio.QueueEmpty, TimeoutError):
                    break
            await self._flush(loop, batch)

    async def _flush(self, loop: asyncio.AbstractEventLoop, batch: list) -> None:
        try:
            results = await loop.run_in_executor(self.executor, _store_in_thread, [m for m, _ in batch])
        except Exception as exc:  # the database is down or refused the batch: senders get an error, not an ack
            log.warning("writer %s: batch of %d not stored: %s", self.name, len(batch), type(exc).__name__)
            for _, future in batch:
                if not future.done():
                    future.set_exception(exc)
            return
        self.batches += 1
        for (_, future), result in zip(batch, results, strict=True):
            if not future.done():
                future.set_result(result)


def _store_in_thread(batch: list[Incoming]) -> list[Stored]:
    close_old_connections()  # drop a connection the database closed (restart) before using it
    return store(batch)


class EventWriter:
    """`await writer.submit(message)` returns once the message is committed (or raises)."""

    def __init__(self, *, max_batch: int = 500, max_wait_s: float = 0.002):
        self.lanes = {
            Lane.LIFE_SAFETY: _LaneWriter("life-safety", max_batch=50, max_wait_s=0.0),
            Lane.NORMAL: _LaneWriter("normal", max_batch=max_batch, max_wait_s=max_wait_s),
        }

    async def start(self) -> None:
        for lane in self.lanes.values():
            lane.start()

    async def stop(self) -> None:
        for lane in self.lanes.values():
            await lane.stop()

    async def submit(self, message: Incoming) -> Stored:
        lane = Lane.LIFE_SAFETY if types.lane_of(message.type) == Lane.LIFE_SAFETY else Lane.NORMAL
        future: asyncio.Future[Stored] = asyncio.get_running_loop().create_future()
        await self.lanes[lane].queue.put((message, future))
        return await future

    async def submit_many(self, messages: list[Incoming]) -> list[Stored]:
        return list(await asyncio.gather(*(self.submit(m) for m in messages)))
