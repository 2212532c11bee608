"""What the client tests share: fake time, and a fault-injecting HTTP proxy in front of the real server."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx


class FakeTime:
    """A clock that moves only when the client sleeps: retries and waits are recorded, never slept."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    async def async_sleep(self, seconds: float) -> None:
        self.sleep(seconds)


# What the proxy does with a request, by name:
#   pass        forward it and relay the answer
#   drop        close the connection without forwarding (the server never sees it)
#   drop_after  forward it (the server acts), then close without answering (the answer is lost)
#   500         answer 500 without forwarding
#   500_after   forward it, then answer 500 instead of the server's answer
#   429         answer 429 with Retry-After: 1 without forwarding
#   slow_after  forward it, then hold the answer past the client's timeout
BEHAVIOURS = {"pass", "drop", "drop_after", "500", "500_after", "429", "slow_after"}


@dataclass
class FaultProxy:
    upstream: str
    script: list[str] = field(default_factory=list)
    delay: float = 0.0  # added before forwarding every request (to make a run slow enough to kill)
    hold_seconds: float = 1.5
    seen: list[tuple[str, str, str]] = field(default_factory=list)  # (method, path, behaviour)
    lock: threading.Lock = field(default_factory=threading.Lock)
    url: str = ""

    def next_behaviour(self, method: str, path: str) -> str:
        with self.lock:
            behaviour = self.script.pop(0) if self.script else "pass"
            assert behaviour in BEHAVIOURS, behaviour
            self.seen.append((method, path, behaviour))
            return behaviour

    def behaviours_for(self, path: str) -> list[str]:
        return [b for _, p, b in self.seen if p == path]


def _handler(proxy: FaultProxy, upstream: httpx.Client) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:
            pass

        def _handle(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            behaviour = proxy.next_behaviour(self.command, self.path.split("?")[0])
            if behaviour == "drop":
                self.close_connection = True
                return
            if behaviour == "500":
                self._answer(500, [("content-type", "application/json")], b'{"error": "proxy says no"}')
                return
            if behaviour == "429":
                quota = [("content-type", "application/json"), ("retry-after", "1")]
                self._answer(429, quota, b'{"error": "Quota has been exceeded"}')
                return
            if proxy.delay:
                time.sleep(proxy.delay)
            headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "content-length")}
            answer = upstream.request(self.command, self.path, content=body, headers=headers)
            if behaviour == "drop_after":
                self.close_connection = True
                return
            if behaviour == "500_after":
                self._answer(500, [("content-type", "application/json")], b'{"error": "lost on the way"}')
                return
            if behaviour == "slow_after":
                time.sleep(proxy.hold_seconds)
            relayed = [(k, v) for k, v in answer.headers.items() if k.lower() not in ("content-length", "connection")]
            try:
                self._answer(answer.status_code, relayed, answer.content)
            except OSError:
                self.close_connection = True  # the client gave up waiting, as it should

        def _answer(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
            self.send_response(status)
            for name, value in headers:
                if name.lower() not in ("date", "server", "transfer-encoding", "content-encoding"):
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = do_DELETE = _handle  # noqa: N815 (http.server's method names)

    return Handler


@contextmanager
def running_proxy(upstream_url: str) -> Iterator[FaultProxy]:
    proxy = FaultProxy(upstream_url)
    with httpx.Client(base_url=upstream_url, timeout=30) as upstream:
        httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(proxy, upstream))
        httpd.daemon_threads = True
        proxy.url = f"http://127.0.0.1:{httpd.server_address[1]}"
        thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        thread.start()
        try:
            yield proxy
        finally:
            httpd.shutdown()
            httpd.server_close()
            thread.join(10)
