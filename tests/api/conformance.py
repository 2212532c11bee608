"""Checking real answers against the live /openapi.json: the status is documented for the operation and the
body matches the documented schema (with the document's components)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import httpx
import jsonschema_rs

from claimdesk.api.docs import path_pattern


@dataclass
class Operation:
    method: str
    template: str
    pattern: re.Pattern[str]
    spec: dict[str, Any]

    @property
    def id(self) -> str:
        operation_id: str = self.spec["operationId"]
        return operation_id


@dataclass
class Conformance:
    """Checks every answer it is given; ``seen`` records each (operation id, status) checked."""

    document: dict[str, Any]
    operations: list[Operation] = field(default_factory=list)
    seen: set[tuple[str, int]] = field(default_factory=set)
    _validators: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # Literal segments first, so /webhooks/deliveries is not taken for /webhooks/{webhook_id}.
        templates = sorted(self.document["paths"], key=lambda t: t.count("{"))
        for template in templates:
            for method, spec in self.document["paths"][template].items():
                self.operations.append(Operation(method.upper(), template, path_pattern(template), spec))

    def operation(self, method: str, path: str) -> Operation:
        for operation in self.operations:
            if operation.method == method and operation.pattern.fullmatch(path):
                return operation
        raise AssertionError(f"{method} {path} is not in the document")

    def validator(self, schema: dict[str, Any]) -> Any:
        key = repr(schema)
        if key not in self._validators:
            root = {**schema, "components": self.document["components"]}
            self._validators[key] = jsonschema_rs.validator_for(root, validate_formats=True)
        return self._validators[key]

    def check(self, response: httpx.Response) -> None:
        request = response.request
        operation = self.operation(request.method, request.url.path)
        status = response.status_code
        documented = operation.spec["responses"]
        assert str(status) in documented, (operation.id, status, response.text[:500])
        self.seen.add((operation.id, status))
        content = documented[str(status)].get("content", {})
        if status == 204 or not content:
            assert not response.content, (operation.id, status)
            return
        kind = response.headers["content-type"].split(";")[0]
        if kind != "application/json":
            assert any(re.fullmatch(k.replace("*", ".+"), kind) for k in content), (operation.id, kind)
            return
        schema = content["application/json"]["schema"]
        errors = [
            f"{'.'.join(map(str, e.instance_path))}: {e.message}"
            for e in self.validator(schema).iter_errors(response.json())
        ]
        assert errors == [], (operation.id, status, errors)

    def hook(self, response: httpx.Response) -> None:
        """An httpx response hook: every answer of the client is checked."""
        response.read()
        self.check(response)
