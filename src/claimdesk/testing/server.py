"""Run the ASGI app on a real socket in a thread: tests and benchmarks talk to it like a client would."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
from typing import Any

import uvicorn


class _QuickStopServer(uvicorn.Server):
    """uvicorn's server, which stops in milliseconds rather than about 0.15 s.

    uvicorn notices ``should_exit`` on its next 0.1 s tick, then sleeps a fixed 0.1 s after asking the open
    connections to close and polls every 0.1 s for them to go. The suite starts and stops a server for almost
    every test (thousands a run), so those sleeps were a fifth of CI's time. The steps are uvicorn 0.54's own
    (stop accepting, shut the connections down, wait for them and their tasks, then the lifespan shutdown),
    only woken at once and polled every few milliseconds.
    """

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None

    async def main_loop(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        counter = 0
        should_exit = await self.on_tick(counter)
        while not should_exit:
            counter = (counter + 1) % 864000
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), 0.1)  # the tick (Date header), or woken to stop
            should_exit = await self.on_tick(counter)

    def request_stop(self) -> None:
        """From another thread: stop now rather than on the next tick."""
        self.should_exit = True
        loop, wake = self._loop, self._wake
        if loop is not None and wake is not None:  # else main_loop has not begun: it sees should_exit first
            with contextlib.suppress(RuntimeError):  # the loop has closed already
                loop.call_soon_threadsafe(wake.set)

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        for server in self.servers:
            server.close()
        for sock in sockets or []:
            sock.close()
        for connection in list(self.server_state.connections):
            connection.shutdown()  # an idle keep-alive connection closes now, a busy one after its answer
        loop = asyncio.get_running_loop()
        deadline = loop.time() + (self.config.timeout_graceful_shutdown or 30)
        while (self.server_state.connections or self.server_state.tasks) and loop.time() < deadline:
            await asyncio.sleep(0.002)
        for task in self.server_state.tasks:
            task.cancel(msg="Task cancelled, timeout graceful shutdown exceeded")
        await self.lifespan.shutdown()


class ThreadedServer:
    def __init__(self, app: Any, host: str = "127.0.0.1") -> None:
        with socket.socket() as sock:
            sock.bind((host, 0))
            self.port = sock.getsockname()[1]
        self.host = host
        config = uvicorn.Config(app, host=host, port=self.port, log_level="warning", lifespan="on")
        self.server = _QuickStopServer(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def __enter__(self) -> ThreadedServer:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the test server did not start")
            time.sleep(0.002)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.request_stop()
        self.thread.join(timeout=20)
