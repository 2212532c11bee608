"""The URL guard at submission, as POST /tickets calls it from the event loop."""

from __future__ import annotations

import asyncio
import socket
import time
from typing import Any

import pytest

from claimdesk.netguard import is_literal, url_problems, url_problems_async

from .loopwatch import await_counting_ticks


@pytest.mark.parametrize(
    ("url", "literal"),
    [
        ("https://93.184.215.14/a.jpg", True),
        ("https://[2606:2800:220:1::]/a.jpg", True),
        ("https://photos.example/a.jpg", False),
        ("https://localhost/a.jpg", False),
    ],
)
def test_only_ip_literals_need_no_lookup(url: str, literal: bool) -> None:
    assert is_literal(url) is literal


def test_a_slow_name_lookup_does_not_hold_up_the_event_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    def slow_lookup(host: str, *_args: Any, **_kwargs: Any) -> list[Any]:
        time.sleep(0.5)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.0.0.7", 443))]

    monkeypatch.setattr(socket, "getaddrinfo", slow_lookup)

    check = url_problems_async([("products.0.files.0.uri", "https://photos.example/a.jpg")], allow_private=False)
    problems, ticks = asyncio.run(await_counting_ticks(check))
    # The name resolves to a private address: refused, and the loop went on meanwhile.
    assert [(p.loc, p.code) for p in problems] == [("products.0.files.0.uri", "url_not_allowed")]
    assert ticks >= 20


def test_each_host_is_looked_up_once_and_hosts_side_by_side(monkeypatch: pytest.MonkeyPatch) -> None:
    """1,000 file URLs (the most a ticket carries) on 20 hosts: 20 lookups, and not one after another."""
    looked_up: list[str] = []

    def slow_lookup(host: str, *_args: Any, **_kwargs: Any) -> list[Any]:
        looked_up.append(host)
        time.sleep(0.2)
        address = "10.0.0.7" if host == "private.example" else "93.184.215.14"
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, 443))]

    monkeypatch.setattr(socket, "getaddrinfo", slow_lookup)
    hosts = ["private.example", *(f"h{i}.example" for i in range(19))]
    urls = [(f"products.{i // 10}.files.{i % 10}.uri", f"https://{hosts[i % 20]}/{i}.jpg") for i in range(1000)]
    started = time.monotonic()
    problems = url_problems(urls, allow_private=False)
    took = time.monotonic() - started
    assert sorted(looked_up) == sorted(hosts)
    assert took < 2.0  # one by one: 4 s
    assert [p.loc for p in problems] == [loc for loc, url in urls if "private.example" in url]
    assert {p.code for p in problems} == {"url_not_allowed"}


def test_literals_are_judged_by_their_address_and_names_are_looked_up_every_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    looked_up: list[str] = []

    def lookup(host: str, *_args: Any, **_kwargs: Any) -> list[Any]:
        looked_up.append(host)
        return [
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.0.0.7" if host == "private.example" else "1.1.1.1", 443))
        ]

    monkeypatch.setattr(socket, "getaddrinfo", lookup)
    urls = [
        ("a", "https://93.184.215.14/a.jpg"),
        ("b", "https://10.0.0.1/b.jpg"),
        ("c", "HTTPS://user:pw@10.0.0.1:8443/c.jpg"),
        ("d", "http://[::1]/d.jpg"),
        ("e", "https://[2606:2800:220:1::]/e.jpg"),
        ("f", "https://127.0.0.1/f.jpg"),
        ("g", "https://photos.example/g.jpg"),
        ("h", "https://private.example/h.jpg"),
    ]
    for _ in range(2):
        problems = asyncio.run(url_problems_async(urls, allow_private=False))
        assert [p.loc for p in problems] == ["b", "c", "d", "f", "h"]
        assert (
            problems[1].message
            == "c: 10.0.0.1 resolves to 10.0.0.1, a private or reserved address; only public addresses are allowed."
        )
        assert url_problems(urls, allow_private=False) == problems
        assert url_problems(urls, allow_private=True) == []
    assert sorted(looked_up) == sorted(["photos.example", "private.example"] * 4)
