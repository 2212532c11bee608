"""Schemathesis against the live server's /openapi.json, on both databases, over every operation.

Whatever an operation is sent, its answer is no 5xx, its status is one the document gives for the operation,
its content type and body match the documented schema, and its headers the documented headers. Reseller
operations are called with a reseller's key, staff ones (``/staff/...``) with a staff key.

Generated path parameters rarely hit odd cases, so each operation with path parameters is also called with
explicit ones: NUL, lone surrogates and other invalid UTF-8, 10,000 characters, ``..``, and percent-encodings.

(schemathesis' own pytest plugin, ``from_fixture``, does not run on pytest 9 yet, so the operations'
strategies are driven by hypothesis directly.)
"""

from __future__ import annotations

import ipaddress
import os
import re
import shutil
import socket
import tempfile
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from claimdesk import netguard
from claimdesk.api.docs import path_pattern
from claimdesk.app import create_app
from claimdesk.config import Settings
from claimdesk.db import Database
from claimdesk.testing.postgres import PostgresServer
from claimdesk.testing.server import ThreadedServer
from claimdesk.web.errors import is_web_path
from tests.conftest import DATABASES, LONG_PROFILE, TEMPLATE
from tests.factories import Reseller, StaffMember, new_order, new_reseller, new_staff, ticket_body
from tests.files.fileserver import PNG
from tests.reliability.crashkit import report

from .conformance import Conformance


def _document() -> dict[str, Any]:
    """The app's document, built at collection time (the database is never connected to)."""
    database = Database(f"sqlite:///{Path(tempfile.gettempdir()) / 'claimdesk-openapi-never-opened.db'}")
    try:
        return create_app(Settings(), database=database).openapi()
    finally:
        database.dispose()


# Every operation of the document.
DOCUMENT = _document()
OPERATIONS = [(method.upper(), path) for path, operations in DOCUMENT["paths"].items() for method in operations]
WITH_PATH_PARAMETERS = [(method, path) for method, path in OPERATIONS if "{" in path]

# Examples per operation: 25 in CI; CLAIMDESK_FUZZ_EXAMPLES=2000 (or HYPOTHESIS_PROFILE=long) for the long run
# by hand (docs/reliability.md).
EXAMPLES = int(os.environ.get("CLAIMDESK_FUZZ_EXAMPLES", "2000" if LONG_PROFILE else "25"))

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]

# Path parameters as they go on the wire (already percent-encoded where they need to be).
ODD_PATH_VALUES = [
    "a%00b",  # NUL
    "%00",
    "%ED%A0%80",  # a lone surrogate (U+D800) in UTF-8: invalid UTF-8
    "%C3%28",  # an invalid two-byte sequence
    "%FF%FE",
    "%F0%9F%98%80",  # a valid emoji
    "x" * 10_000,
    "..",
    "%2e%2e",
    "a%2Fb",  # an encoded slash
    "%2F",
    "%25",  # an encoded percent sign
    "%25%30%30",  # "%00" encoded once more
    "%20",
    "a%0Ab",  # a line feed
    "-1",
    "0",
    "99999999999999999999999999",
    "1e3",
    "%E2%80%AE",  # right-to-left override
]


@dataclass(frozen=True)
class Fuzzed:
    database: str
    url: str
    reseller: Reseller
    staff: StaffMember
    known: dict[str, str]  # path parameter -> a value that names something stored

    def headers_for(self, path: str) -> dict[str, str]:
        return self.staff.headers if path.startswith("/staff/") else self.reseller.headers


@pytest.fixture(scope="module", params=DATABASES)
def fuzzed(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fuzzed]:
    """One server per database for the whole module (a server per test would cost more than the fuzzing).

    It holds the guide's example order and a ticket on it, so that generated bodies reach the rules behind
    the lookups; what the fuzzing adds stays for the operations after it.
    """
    root = tmp_path_factory.mktemp("fuzz")
    if request.param == "sqlite":
        shutil.copyfile(request.getfixturevalue("sqlite_template"), root / "claimdesk.db")
        url = f"sqlite:///{root / 'claimdesk.db'}"
    else:
        server: PostgresServer = request.getfixturevalue("pg_server")
        url = server.create_database(f"fuzz_{uuid.uuid4().hex[:12]}", template=TEMPLATE)
    db = Database(url)
    settings = Settings(database_url=url, storage_dir=str(root / "files"), rate_limit="100000/minute")
    try:
        with pytest.MonkeyPatch.context() as patch, ThreadedServer(create_app(settings, database=db)) as running:
            # Generated URLs name made-up hosts: answer their lookups at once (as unknown) rather than ask the
            # machine's resolver thousands of times. IP literals are checked as ever.
            patch.setattr(netguard, "resolve", _literals_only)
            reseller, staff = new_reseller(db), new_staff(db)
            with httpx.Client(base_url=running.url) as http:
                yield Fuzzed(request.param, running.url, reseller, staff, _seed(http, reseller))
    finally:
        db.dispose()


def _literals_only(host: str, port: int) -> list[str]:
    """``netguard.resolve`` for made-up host names: every name is unknown, IP literals are themselves."""
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        raise socket.gaierror(socket.EAI_NONAME, f"{host}: name not known (in this test)") from None
    return _resolve(host, port)


_resolve = netguard.resolve


def _seed(http: httpx.Client, reseller: Reseller) -> dict[str, str]:
    """An order, a ticket with an uploaded file, a webhook and a delivery: what path parameters can name."""
    me = reseller.headers
    order = new_order(http, reseller, id="my_weborder_1234")
    answer = http.post("/tickets", json=ticket_body(order, id="complaint-77"), headers=me)
    assert answer.status_code == 201, answer.text
    number = answer.json()["ticket"]["number"]
    files = [("files", ("a.png", PNG, "image/png"))]
    answer = http.post("/tickets/complaint-77/files", files=files, data={"product": "17"}, headers=me)
    assert answer.status_code == 201, answer.text
    file_id = next(f["id"] for f in answer.json()["products"][0]["files"] if f["state"] == "stored")
    answer = http.post(
        "/webhooks", json={"url": "https://93.184.215.14/hooks", "events": ["ticket.created"]}, headers=me
    )
    assert answer.status_code == 201, answer.text
    webhook_id = answer.json()["id"]
    answer = http.post(f"/webhooks/{webhook_id}/test", headers=me)
    assert answer.status_code == 202, answer.text
    delivery_id = answer.json()["delivery"]["id"]
    return {
        "ticket_id": "complaint-77",
        "number": str(number),
        "file_id": str(file_id),
        "webhook_id": str(webhook_id),
        "delivery_id": str(delivery_id),
    }


def test_every_operation_is_fuzzed(fuzzed: Fuzzed) -> None:
    """The parametrization is the live document's list of operations, not a hand-kept one."""
    live = httpx.get(f"{fuzzed.url}/openapi.json").json()
    assert [(m.upper(), p) for p, ops in live["paths"].items() for m in ops] == OPERATIONS
    assert len(OPERATIONS) > 30


@pytest.mark.parametrize(("method", "path"), OPERATIONS)
def test_answers_conform(fuzzed: Fuzzed, method: str, path: str) -> None:
    schema = schemathesis.openapi.from_dict(DOCUMENT)
    operation = schema[path][method]
    headers = fuzzed.headers_for(path)
    answers: Counter[int] = Counter()

    @given(case=operation.as_strategy(), stored=st.booleans())
    @settings(
        max_examples=EXAMPLES,
        derandomize="CLAIMDESK_FUZZ_EXAMPLES" not in os.environ and not LONG_PROFILE,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    def check(case: Any, stored: bool) -> None:
        if stored and case.path_parameters:  # half the time, name what is stored rather than a random id
            case.path_parameters = {name: fuzzed.known[name] for name in case.path_parameters}
        response = case.call(base_url=fuzzed.url, headers=headers, timeout=30)
        answers[response.status_code] += 1
        case.validate_response(response, checks=CHECKS, headers=headers)

    check()
    # The figures of a long run (docs/reliability.md): requests made, by status.
    report(f"fuzz[{fuzzed.database}] {method} {path}", {"examples": answers.total(), "answers": dict(answers)})


def _body_for(method: str, path: str) -> dict[str, Any]:
    """A body that gets past parsing, so the path parameter is what decides the answer."""
    if method != "POST":
        return {}
    if path.endswith("/files"):
        return {"files": [("files", ("a.png", PNG, "image/png"))], "data": {"product": "17"}}
    if path.endswith("/messages"):
        return {"json": {"body": "Odd path."}}
    if path.endswith("/status"):
        return {"json": {"status": "pending"}}
    if path.endswith("/assign"):
        return {"json": {"assignee": "me"}}
    return {}


@pytest.mark.parametrize(("method", "path"), WITH_PATH_PARAMETERS)
def test_odd_path_parameters(fuzzed: Fuzzed, method: str, path: str) -> None:
    conformance = Conformance(DOCUMENT)
    operation = conformance.operation(method, path)
    headers = fuzzed.headers_for(path)
    prefix, _, rest = path.partition("{")
    suffix = rest.partition("}")[2]
    with httpx.Client(timeout=30) as http:
        for value in ODD_PATH_VALUES:
            url = f"{fuzzed.url}{prefix}{value}{suffix}"
            response = http.request(method, url, headers=headers, **_body_for(method, path))
            sent = response.request.url.raw_path.decode("ascii")
            assert response.status_code < 500, (url[:200], response.text[:500])
            if sent.startswith(f"{prefix}{value}"):  # the path reached the server as written
                assert str(response.status_code) in operation.spec["responses"], (value[:50], response.status_code)
            if is_web_path(sent.partition("?")[0]):
                # ".." took the request out of the API, to the web UI's home ("/"): a page answers there.
                page = response.headers.get("content-type", "").startswith("text/html")
                assert page or response.status_code == 303, (value[:50], sent, response.status_code)
                continue
            body = response.json() if response.content else {}
            if response.status_code >= 400:
                assert isinstance(body.get("error"), str), (value[:50], response.text[:500])


@pytest.mark.parametrize("path", sorted(DOCUMENT["paths"]))
def test_other_methods_are_405_with_allow(fuzzed: Fuzzed, path: str) -> None:
    """A method no operation at the path has: 405, and Allow lists every method there (Starlette's named only
    the methods of the first route it matched)."""
    concrete = re.sub(r"\{[^}]+\}", lambda m: fuzzed.known[m.group(0)[1:-1]], path)
    # /tickets/validate is also /tickets/{ticket_id}: a GET there is that operation's.
    routed = {m for template, ops in DOCUMENT["paths"].items() for m in ops if _matches(template, concrete)}
    assert {method.lower() for method in DOCUMENT["paths"][path]} <= routed
    for method in sorted({"get", "post", "put", "patch", "delete"} - routed):
        response = httpx.request(method.upper(), f"{fuzzed.url}{concrete}", headers=fuzzed.headers_for(path))
        assert response.status_code == 405, (method, path, response.text)
        allowed = {m.strip().lower() for m in response.headers["allow"].split(",")}
        assert allowed - {"head"} == routed, (method, path, allowed)
        assert response.json() == {"error": "Method not allowed."}


def _matches(template: str, path: str) -> bool:
    return path_pattern(template).fullmatch(path) is not None
