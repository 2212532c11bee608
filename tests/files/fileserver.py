"""A real HTTP file host on 127.0.0.1 for the tests: good files, and hosts that misbehave."""

from __future__ import annotations

import contextlib
import io
import ssl
import struct
import threading
import zlib
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from PIL import Image


def png_bytes(size: tuple[int, int] = (640, 480), color: str = "teal", mode: str = "RGB") -> bytes:
    out = io.BytesIO()
    Image.new(mode, size, color).save(out, "PNG")
    return out.getvalue()


def jpeg_bytes(size: tuple[int, int] = (800, 600), color: str = "orange") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, "JPEG", quality=90)
    return out.getvalue()


PDF = (
    b"%PDF-1.4\n1 0 obj <</Type /Catalog /Pages 2 0 R>> endobj\n"
    b"2 0 obj <</Type /Pages /Kids [] /Count 0>> endobj\ntrailer <</Root 1 0 R>>\n%%EOF\n"
)


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def bomb_png(width: int, height: int) -> bytes:
    """A tiny PNG claiming huge dimensions (what a decompression bomb looks like to a header check)."""
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(b"\0" * 64))
        + _chunk(b"IEND", b"")
    )


def corrupt_png() -> bytes:
    """A real PNG with one byte of its image data flipped: its checksum no longer matches."""
    data = bytearray(png_bytes((64, 64), "navy"))
    start = data.index(b"IDAT") + 4
    data[start + 10] ^= 0xFF
    return bytes(data)


@dataclass
class Hit:
    path: str
    host: str


@dataclass
class FileHost:
    """Routes (path -> behaviour) and what was asked of them."""

    files: dict[str, tuple[bytes, str]] = field(default_factory=dict)
    hits: list[Hit] = field(default_factory=list)
    counts: Counter[str] = field(default_factory=Counter)
    stopping: threading.Event = field(default_factory=threading.Event)
    # /hang waits for this before answering (the worker-kill test).
    release: threading.Event = field(default_factory=threading.Event)
    hang_started: threading.Event = field(default_factory=threading.Event)
    port: int = 0

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"

    def paths(self) -> list[str]:
        return [hit.path for hit in self.hits]


PNG = png_bytes()
JPEG = jpeg_bytes()


def _handler(host: FileHost) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _send(
            self, status: int, body: bytes, content_type: str = "application/octet-stream", **headers: str
        ) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            for name, value in headers.items():
                self.send_header(name.replace("_", "-"), value)
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            path = parts.path
            query = parse_qs(parts.query)
            host.hits.append(Hit(path, self.headers.get("Host", "")))
            host.counts[path] += 1
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                self._route(path, query)

        def _route(self, path: str, query: dict[str, list[str]]) -> None:
            if path in host.files:
                body, content_type = host.files[path]
                self._send(200, body, content_type)
            elif path == "/photo.png":
                self._send(200, PNG, "image/png")
            elif path == "/photo.jpg":
                self._send(200, JPEG, "image/jpeg")
            elif path == "/transparent.png":
                self._send(200, png_bytes((500, 500), "#ff000080", "RGBA"), "image/png")
            elif path == "/report.pdf":
                self._send(200, PDF, "application/pdf")
            elif path == "/notes.jpg":
                # Text served as a JPEG: the name and the Content-Type both lie.
                self._send(200, b"<html><body>not a photo</body></html>", "image/jpeg")
            elif path == "/corrupt.png":
                self._send(200, corrupt_png(), "image/png")
            elif path == "/bomb.png":
                self._send(200, bomb_png(30_000, 30_000), "image/png")
            elif path == "/endless.jpg":
                # Never ends and never says how long it is.
                self.send_response(200)
                self.send_header("Content-Type", "image/jpeg")
                self.send_header("Connection", "close")
                self.end_headers()
                block = b"\xff" * 65536
                while not host.stopping.is_set():
                    self.wfile.write(block)
            elif path == "/huge.jpg":
                # Announces 2 GB.
                self.send_response(200)
                self.send_header("Content-Type", "image/jpeg")
                self.send_header("Content-Length", str(2 * 1024**3))
                self.end_headers()
                self.wfile.write(b"\xff" * 65536)
            elif path == "/slow.jpg":
                # Says nothing for longer than the read timeout.
                host.stopping.wait(10)
                self._send(200, JPEG, "image/jpeg")
            elif path == "/drip.jpg":
                # A byte at a time, each well within the read timeout: only the deadline stops it.
                self.send_response(200)
                self.send_header("Content-Type", "image/jpeg")
                self.send_header("Content-Length", str(len(JPEG)))
                self.end_headers()
                for byte in JPEG:
                    if host.stopping.wait(0.02):
                        return
                    self.wfile.write(bytes([byte]))
                    self.wfile.flush()
            elif path == "/flaky.png":
                # 503 the first time, the file after.
                if host.counts[path] == 1:
                    self._send(503, b"busy", "text/plain", Retry_After="1")
                else:
                    self._send(200, PNG, "image/png")
            elif path == "/always-503.png":
                self._send(503, b"busy", "text/plain")
            elif path == "/forbidden.png":
                self._send(403, b"no", "text/plain")
            elif path == "/redirect":
                self._send(302, b"", "text/plain", Location=query["to"][0])
            elif path.startswith("/loop/"):
                hop = int(path.rsplit("/", 1)[-1])
                self._send(302, b"", "text/plain", Location=f"/loop/{hop + 1}")
            elif path == "/hang.png":
                host.hang_started.set()
                if host.release.is_set():
                    self._send(200, PNG, "image/png")
                else:
                    host.release.wait(30)
                    self._send(200, PNG, "image/png")
            else:
                self._send(404, b"not found", "text/plain")

    return Handler


class FileServer:
    def __init__(self, tls: ssl.SSLContext | None = None) -> None:
        self.host = FileHost()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self.host))
        if tls is not None:
            self.httpd.socket = tls.wrap_socket(self.httpd.socket, server_side=True)
        self.httpd.daemon_threads = True
        self.host.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def __enter__(self) -> FileHost:
        self.thread.start()
        return self.host

    def __exit__(self, *exc: object) -> None:
        self.host.stopping.set()
        self.host.release.set()
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=10)
