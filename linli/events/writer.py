"""The gateway's single database writer: batches messages, stores them, then answers each sender.

Every message is acknowledged only after the transaction holding it committed. Three lanes,
each with its own thread and connection: life-safety events never wait behind a batch of
telemetry, and neither does a plate read whose camera holds the barrier until we answer.

Senders hand over one message (`submit`) or many at once (`submit_batch`: one queue entry
and one future for the lot, which is what lets the MQTT ingress keep up with thousands of
messages a second).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from concurrent.futures import ThreadPoolExecutor

from django.db import close_old_connections, connections

from linli.events import types
from linli.events.models import Event, Lane
from linli.events.pipeline import Incoming, Stored, follow, store

log = logging.getLogger("linli.events.writer")

_Entry = tuple[list[Incoming], asyncio.Future]


class _LaneWriter:
    def __init__(self, name: str, *, max_batch: int, max_wait_s: float, gap_s: float | None = None,
                 trail_to: _LaneWriter | None = None, threads: int = 1):
        self.name = name
        # More than one thread: a batch goes out while the last one still waits on the database
        # (a camera's read never queues behind another camera's round trip). Each thread has its
        # own connection; the unique (device, message id) keeps concurrent stores exactly-once.
        self.slots = asyncio.Semaphore(threads)
        self.flushing: set[asyncio.Task] = set()
        # Where the trailing hooks of this lane's fast-path batches run (pipeline.store's `trail`):
        # another lane's thread, so this one is free for the next message at once.
        self.trail_to = trail_to
        self.max_batch = max_batch
        self.max_wait_s = max_wait_s
        self.gap_s = max_wait_s if gap_s is None else gap_s
        self.queue: asyncio.Queue[_Entry] = asyncio.Queue()
        self.executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix=f"linli-writer-{name}")
        self.task: asyncio.Task | None = None
        self.batches = 0

    def start(self) -> None:
        self.task = asyncio.get_running_loop().create_task(self._run(), name=f"writer-{self.name}")

    async def stop(self) -> None:
        if self.task:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task
        if self.flushing:  # batches already handed to the database finish and answer their senders
            await asyncio.gather(*self.flushing, return_exceptions=True)
        # The lane's thread holds its own connection: close it, or it outlives the writer.
        with contextlib.suppress(Exception):
            await asyncio.get_running_loop().run_in_executor(self.executor, connections.close_all)
        self.executor.shutdown(wait=True)

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            first = await self.queue.get()
            await self.slots.acquire()
            entries, size = [first], len(first[0])
            deadline = loop.time() + self.max_wait_s
            # Take what is already waiting, then keep taking while more keeps coming (each within
            # gap_s of the last), up to max_wait_s: a lone message or a burst of requests goes out
            # after one short gap, a steady stream fills batches, so the database sees fewer,
            # larger transactions and the other lanes find it less busy.
            while size < self.max_batch:
                timeout = min(deadline - loop.time(), self.gap_s)
                try:
                    entry = self.queue.get_nowait() if timeout <= 0 else await asyncio.wait_for(self.queue.get(),
                                                                                               timeout)
                except (asyncio.QueueEmpty, TimeoutError):
                    break
                entries.append(entry)
                size += len(entry[0])
            flush = loop.create_task(self._flush(loop, entries))
            self.flushing.add(flush)
            flush.add_done_callback(self._flushed)

    def _flushed(self, task: asyncio.Task) -> None:
        self.flushing.discard(task)
        self.slots.release()

    async def _flush(self, loop: asyncio.AbstractEventLoop, entries: list[_Entry]) -> None:
        batch = [m for messages, _ in entries for m in messages]

        def answer(results: list[Stored]) -> None:  # on the event loop, as soon as the commit is done
            start = 0
            for messages, future in entries:
                if not future.done():
                    future.set_result(results[start:start + len(messages)])
                start += len(messages)

        def committed(results: list[Stored]) -> None:  # in the lane's thread, right after COMMIT
            # Counted before the senders hear of it: one may stop the writer as soon as it has.
            self.batches += 1
            loop.call_soon_threadsafe(answer, results)

        try:
            results = await loop.run_in_executor(self.executor, _store_in_thread, batch, committed,
                                                 self.trail_to.trail if self.trail_to else None)
        except Exception as exc:  # the database is down or refused the batch: senders get an error, not an ack
            log.warning("writer %s: batch of %d not stored: %s", self.name, len(batch), type(exc).__name__)
            for _, future in entries:
                if not future.done():  # a commit hook failing after the commit leaves the answers as they are
                    future.set_exception(exc)
            return
        answer(results)  # already answered at commit; this covers a store() that was handed no hook

    def trail(self, events: list[Event]) -> None:
        """Run another lane's trailing hooks in this lane's thread (from that lane's thread)."""
        try:
            self.executor.submit(_follow_in_thread, events)
        except RuntimeError:  # this lane is stopping: run them where they came from
            follow(events)


def _store_in_thread(batch: list[Incoming], committed, trail) -> list[Stored]:
    close_old_connections()  # drop a connection the database closed (restart) before using it
    return store(batch, on_commit=committed, trail=trail)


def _follow_in_thread(events: list[Event]) -> None:
    close_old_connections()
    try:
        follow(events)
    except Exception as exc:  # the events are stored and answered; a last-seen time may wait for the next
        log.warning("trailing hooks of %d events failed: %s", len(events), type(exc).__name__)


GATE = "gate"
# Events a device waits on to act: the LPR camera lifts the barrier only on our answer.
WAITED_ON = frozenset({types.PLATE_READ})
URGENCY = [Lane.LIFE_SAFETY, GATE, Lane.NORMAL]
TOGETHER_MAX = 10  # events of one report that travel together


class EventWriter:
    """`await writer.submit(message)` returns once the message is committed (or raises)."""

    def __init__(self, *, max_batch: int = 500, max_wait_s: float = 0.010, gap_s: float = 0.002):
        # SQLite has one writer at a time: a second gate thread would only wait for the first.
        gate_threads = 2 if connections[Event.objects.db].vendor == "postgresql" else 1
        normal = _LaneWriter("normal", max_batch=max_batch, max_wait_s=max_wait_s, gap_s=gap_s)
        # Stopped in this order: the urgent lanes first, so what they trail to normal is drained.
        self.lanes = {
            Lane.LIFE_SAFETY: _LaneWriter("life-safety", max_batch=50, max_wait_s=0.0, trail_to=normal),
            GATE: _LaneWriter("gate", max_batch=50, max_wait_s=0.0, trail_to=normal, threads=gate_threads),
            Lane.NORMAL: normal,
        }

    async def start(self) -> None:
        for lane in self.lanes.values():
            lane.start()

    async def stop(self) -> None:
        for lane in self.lanes.values():
            await lane.stop()

    @staticmethod
    def _lane(message: Incoming) -> str:
        if message.type in WAITED_ON:
            return GATE
        return Lane.LIFE_SAFETY if types.lane_of(message.type) == Lane.LIFE_SAFETY else Lane.NORMAL

    async def submit(self, message: Incoming) -> Stored:
        return (await self.submit_batch([message]))[0]

    async def submit_many(self, messages: list[Incoming]) -> list[Stored]:
        """The events of one device message (an NB-IoT report: smoke and battery): stored together,
        in the most urgent lane among them. Split over lanes they would wait for one another on
        the device's state row, and the smoke alarm for the battery reading's batch."""
        return await self.submit_batch(messages, together=True)

    async def submit_batch(self, messages: list[Incoming], *, together: bool = False) -> list[Stored]:
        """Store `messages` (each lane in its own transaction); results in the same order.

        Raises if a lane's transaction failed: none of that lane's messages may be acknowledged."""
        if not messages:
            return []
        loop = asyncio.get_running_loop()
        by_lane: dict[str, list[int]] = {}
        lanes = [self._lane(m) for m in messages]
        if together and len(messages) <= TOGETHER_MAX:  # not a backlog of a thousand readings
            lanes = [min(lanes, key=URGENCY.index)] * len(messages)
        for i, lane in enumerate(lanes):
            by_lane.setdefault(lane, []).append(i)
        waits = []
        for lane, positions in by_lane.items():
            future: asyncio.Future[list[Stored]] = loop.create_future()
            self.lanes[lane].queue.put_nowait(([messages[i] for i in positions], future))
            waits.append((positions, future))
        outcomes = await asyncio.gather(*(future for _, future in waits), return_exceptions=True)
        results: list[Stored | None] = [None] * len(messages)
        for (positions, _), outcome in zip(waits, outcomes, strict=True):
            if isinstance(outcome, BaseException):
                raise outcome
            for i, stored in zip(positions, outcome, strict=True):
                results[i] = stored
        return results  # type: ignore[return-value]
