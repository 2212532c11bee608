"""The guard against server-side request forgery: URLs that reach loopback, private, link-local or
reserved addresses are refused unless ``CLAIMDESK_ALLOW_PRIVATE_URLS=true``.

It is asked twice: when a URL is submitted, and again right before it is fetched (a name can resolve
elsewhere by then), where the fetcher connects only to the address that was checked.
"""

from __future__ import annotations

import functools
import ipaddress
import socket
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

import anyio.to_thread

from .rules.codes import Code
from .rules.problems import Problem


class UrlNotAllowed(Exception):
    pass


@functools.lru_cache(maxsize=4096)  # an address's class never changes; ipaddress takes 8 µs to say it
def is_public_address(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not (ip.is_multicast or ip.is_reserved or ip.is_loopback or ip.is_link_local)


@functools.lru_cache(maxsize=4096)
def _ip_literal(host: str) -> str | None:
    """``host`` as an IP address in its normal spelling, or None for a name."""
    try:
        return str(ipaddress.ip_address(host.strip("[]")))
    except ValueError:
        return None


def resolve(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to; an IP literal is itself."""
    literal = _ip_literal(host)
    if literal is not None:
        return [literal]
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def check_url(url: str, *, allow_private: bool, resolve_names: bool = True) -> list[str]:
    """The addresses the URL's host resolves to, all public; raises ``UrlNotAllowed`` otherwise.

    A name that does not resolve passes at submission (``resolve_names`` errors are the fetcher's to report).
    """
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    if allow_private:
        return []
    if host.rstrip(".").lower() in ("localhost", "localhost.localdomain") or host.endswith(".localhost"):
        raise UrlNotAllowed(f"{host} is a loopback address")
    try:
        addresses = resolve(host, port)
    except (OSError, UnicodeError):
        if resolve_names:
            raise
        return []
    for address in addresses:
        if not is_public_address(address):
            raise UrlNotAllowed(f"{host} resolves to {address}, a private or reserved address")
    return addresses


def is_literal(url: str) -> bool:
    """Whether checking ``url`` needs no name lookup: its host is an IP address (or no valid host)."""
    try:
        host = urlsplit(url).hostname or ""
    except ValueError:
        return True
    return _ip_literal(host) is not None


async def url_problems_async(urls: list[tuple[str, str]], *, allow_private: bool) -> list[Problem]:
    """``url_problems`` from the event loop: names are looked up in a thread, never on the loop itself."""
    if allow_private:
        return []
    hosts = _Hosts(urls)
    if not hosts.names:
        return hosts.problems()
    return await anyio.to_thread.run_sync(hosts.problems)


# At most this many name lookups of one request run at once.
LOOKUP_THREADS = 16


def _verdict(url: str) -> str | None:
    """Why ``url`` is not allowed, or None."""
    try:
        check_url(url, allow_private=False, resolve_names=False)
    except UrlNotAllowed as exc:
        return str(exc)
    return None


@functools.lru_cache(maxsize=4096)
def _literal_verdict(scheme: str, netloc: str) -> tuple[bool, str | None]:
    """(True, the verdict) for a host that is an IP address, whose verdict never changes (``check_url`` reads
    only the scheme, host and port of a URL); (False, None) for a name, which is looked up every time."""
    url = f"{scheme}://{netloc}/"
    if not is_literal(url):
        return False, None
    return True, _verdict(url)


class _Hosts:
    """The URLs by host, (scheme, host:port): each host is judged once, however many URLs name it."""

    def __init__(self, urls: list[tuple[str, str]]) -> None:
        self.urls = urls
        self.keys: list[tuple[str, str]] = []
        self.verdicts: dict[tuple[str, str], str | None] = {}
        self.names: dict[tuple[str, str], str] = {}  # the hosts to look up -> one of their URLs
        for _loc, url in urls:
            parts = urlsplit(url)
            key = (parts.scheme.lower(), parts.netloc.rpartition("@")[2].lower())
            self.keys.append(key)
            if key not in self.verdicts and key not in self.names:
                literal, verdict = _literal_verdict(*key)
                if literal:
                    self.verdicts[key] = verdict
                else:
                    self.names[key] = url

    def problems(self) -> list[Problem]:
        """Looks the names up (side by side when there are several), then the problems of the URLs."""
        if len(self.names) > 1:
            with ThreadPoolExecutor(max_workers=min(LOOKUP_THREADS, len(self.names))) as pool:
                self.verdicts.update(zip(self.names, pool.map(_verdict, self.names.values()), strict=True))
        else:
            self.verdicts.update((key, _verdict(url)) for key, url in self.names.items())
        problems = []
        for (loc, _url), key in zip(self.urls, self.keys, strict=True):
            why = self.verdicts[key]
            if why is not None:
                problems.append(Problem(loc, Code.URL_NOT_ALLOWED, f"{loc}: {why}; only public addresses are allowed."))
        return problems


def url_problems(urls: list[tuple[str, str]], *, allow_private: bool) -> list[Problem]:
    """``url_not_allowed`` for each (loc, url) whose host is, or resolves to, a private address.

    Each host is looked up once, however many URLs name it, and different hosts are looked up side by side:
    a ticket may carry 1,000 file URLs, and one by one their lookups took longer than any client waits.
    """
    if allow_private:
        return []
    return _Hosts(urls).problems()
