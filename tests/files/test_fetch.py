"""The fetcher on its own: it connects to the address that was checked, and checks every redirect hop.

The file host is on 127.0.0.1, which the real guard refuses; so here the guard is ``check_url`` itself
for every host except the test host's own address, which it lets through (as a public address would be).
"""

from __future__ import annotations

import ssl
import subprocess
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from claimdesk.files.fetch import FetchError, FetchLimits, fetch
from claimdesk.netguard import check_url

from .fileserver import PNG, FileHost, FileServer

LIMITS = FetchLimits(max_bytes=300_000, connect_timeout=2, read_timeout=2, deadline=5)


def guard(url: str) -> list[str]:
    """Only 127.0.0.1 passes (as if it were public), and the name ``photos.example`` "resolves" to it."""
    host = urlsplit(url).hostname
    if host in ("127.0.0.1", "photos.example"):
        return ["127.0.0.1"]
    return check_url(url, allow_private=False)


def test_connects_to_the_checked_address_with_the_original_host(files_host: FileHost) -> None:
    # photos.example does not resolve anywhere: the request can only have gone to the address the guard gave.
    fetched = fetch(files_host.url("/photo.png", "photos.example"), limits=LIMITS, guard=guard)
    with fetched.body:
        assert fetched.body.read() == PNG
    assert [(hit.path, hit.host) for hit in files_host.hits] == [("/photo.png", f"photos.example:{files_host.port}")]


@pytest.mark.parametrize(
    ("target", "error"),
    [
        ("http://localhost:{port}/photo.png", "address not allowed: localhost is a loopback address"),
        (
            "http://127.0.0.2:{port}/photo.png",
            "address not allowed: 127.0.0.2 resolves to 127.0.0.2, a private or reserved address",
        ),
        (
            "http://[::ffff:127.0.0.1]:{port}/photo.png",
            "address not allowed: ::ffff:127.0.0.1 resolves to ::ffff:7f00:1, a private or reserved address",
        ),
        (
            "http://2130706433:{port}/photo.png",
            "address not allowed: 2130706433 resolves to 127.0.0.1, a private or reserved address",
        ),
        ("file:///etc/passwd", "only http and https URLs can be fetched, not file"),
    ],
)
def test_each_redirect_hop_is_checked_again(files_host: FileHost, target: str, error: str) -> None:
    url = files_host.url("/redirect?to=" + target.format(port=files_host.port))
    with pytest.raises(FetchError) as caught:
        fetch(url, limits=LIMITS, guard=guard)
    assert (caught.value.message, caught.value.transient) == (error, False)
    assert files_host.paths() == ["/redirect"]


def test_a_name_that_does_not_resolve_is_worth_another_try() -> None:
    with pytest.raises(FetchError) as caught:
        fetch("http://no-such-host.invalid/photo.png", limits=LIMITS, guard=guard)
    assert (caught.value.message, caught.value.transient) == ("host not found: no-such-host.invalid", True)


def test_a_refused_connection_is_worth_another_try(files_host: FileHost) -> None:
    with pytest.raises(FetchError) as caught:
        fetch("http://127.0.0.1:9/photo.png", limits=LIMITS, guard=guard)
    assert caught.value.transient
    assert caught.value.message.startswith("could not connect to the host")


@pytest.fixture
def tls_host(tmp_path: Path) -> Iterator[tuple[FileHost, ssl.SSLContext]]:
    """An HTTPS file host on 127.0.0.1 whose certificate names only photos.example, and a client trust for it."""
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=photos.example",
         "-addext", "subjectAltName=DNS:photos.example", "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )  # fmt: skip
    server_side = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_side.load_cert_chain(cert, key)
    with FileServer(tls=server_side) as host:
        yield host, ssl.create_default_context(cafile=str(cert))


def test_https_to_the_checked_address_verifies_the_certificate_for_the_name(
    tls_host: tuple[FileHost, ssl.SSLContext],
) -> None:
    host, trust = tls_host
    url = f"https://photos.example:{host.port}/photo.png"
    fetched = fetch(url, limits=LIMITS, guard=guard, verify=trust)
    with fetched.body:
        assert fetched.body.read() == PNG
    assert [(hit.path, hit.host) for hit in host.hits] == [("/photo.png", f"photos.example:{host.port}")]


def test_https_refuses_a_certificate_for_another_name(tls_host: tuple[FileHost, ssl.SSLContext]) -> None:
    host, trust = tls_host
    # The guard sends other.example to the same address; its certificate does not name other.example.
    with pytest.raises(FetchError) as caught:
        fetch(
            f"https://other.example:{host.port}/photo.png",
            limits=LIMITS,
            guard=lambda _url: ["127.0.0.1"],
            verify=trust,
        )
    assert caught.value.transient
    assert "certificate" in caught.value.message.lower()
    assert host.hits == []
