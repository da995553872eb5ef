"""`linli manage notify_dispatch [--loop]`: send the due notifications once, or keep dispatching
(for a deployment that runs the dispatcher apart from the gateway)."""

from __future__ import annotations

import asyncio
import contextlib
import signal

from django.core.management.base import BaseCommand

from linli.notify.dispatcher import dispatch_due, start_dispatcher


class Command(BaseCommand):
    help = "Send due notifications (once, or continuously with --loop)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--loop", action="store_true", help="keep dispatching until stopped")

    def handle(self, *args, **options) -> None:
        if not options["loop"]:
            self.stdout.write(f"dispatched {dispatch_due()} deliveries")
            return
        asyncio.run(self._loop())

    async def _loop(self) -> None:
        stopped = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(sig, stopped.set)
        stop = await start_dispatcher()
        try:
            await stopped.wait()
        finally:
            await stop()
