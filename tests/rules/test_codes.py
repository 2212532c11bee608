"""The code registry (``rules/codes.py``) is the contract's list of codes, and the only source of codes.

The contract is ``../shared/API.md`` beside the repository (CI lays shared/ there). It must be found: a missing
contract fails these tests rather than skipping them, or a new code could ship undocumented.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from claimdesk.rules.codes import Code, Kind, codes_markdown
from claimdesk.rules.problems import Problem

ROOT = Path(__file__).resolve().parents[2]
SOURCE = ROOT / "src" / "claimdesk"


def contract_path() -> Path:
    """``../shared/API.md`` from the repository root; from a linked git worktree, beside its main checkout."""
    candidates = [ROOT.parent / "shared" / "API.md"]
    dot_git = ROOT / ".git"
    if dot_git.is_file():  # a worktree: "gitdir: <main>/.git/worktrees/<name>"
        gitdir = Path(dot_git.read_text().removeprefix("gitdir:").strip())
        candidates.append(gitdir.parents[2].parent / "shared" / "API.md")
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    pytest.fail(f"The contract is missing: looked for {', '.join(map(str, candidates))}")


def _without_parentheses(text: str) -> str:
    while True:
        stripped = re.sub(r"\([^()]*\)", "", text)
        if stripped == text:
            return text
        text = stripped


def _paragraph(text: str, start: str) -> str:
    """From ``start`` to the next blank line."""
    at = text.index(start) + len(start)
    end = text.find("\n\n", at)
    return text[at : end if end >= 0 else None]


def _section(text: str, heading: str) -> str:
    at = text.index(f"\n## {heading}\n")
    end = text.find("\n## ", at + 1)
    return text[at : end if end >= 0 else None]


def contract_codes() -> dict[Kind, set[str]]:
    text = contract_path().read_text(encoding="utf-8")
    field = _without_parentheses(_paragraph(text, "Field codes:").split("plus the rule codes")[0])
    service = _without_parentheses(_paragraph(text, "Codes beyond the guide's rules"))
    return {
        Kind.FIELD: set(re.findall(r"`([a-z_]+)`", field)),
        Kind.RULE: set(re.findall(r'code: "([a-z_]+)"', _section(text, "Tickets"))),
        Kind.SERVICE: set(re.findall(r"`([a-z_]+)`", service)),
    }


def contract_statuses() -> dict[str, int]:
    """``code`` [and ``code``] (``NNN``, ...) in the paragraph of codes beyond the guide's rules."""
    text = _paragraph(contract_path().read_text(encoding="utf-8"), "Codes beyond the guide's rules")
    statuses: dict[str, int] = {}
    for names, status in re.findall(r"((?:`[a-z_]+`(?:,| and|\s)*)+)\(`(\d{3})`", text):
        for name in re.findall(r"`([a-z_]+)`", names):
            statuses[name] = int(status)
    return statuses


class TestTheContract:
    def test_the_registry_is_the_contracts_list(self) -> None:
        documented = contract_codes()
        assert all(documented.values()), documented  # the parser found each list
        registry = {kind: {code.value for code in Code if code.kind is kind} for kind in Kind}
        assert registry == documented

    def test_every_listed_code_is_one_registry_member(self) -> None:
        documented = set().union(*contract_codes().values())
        assert documented == {code.value for code in Code}

    def test_statuses_are_the_contracts(self) -> None:
        statuses = contract_statuses()
        assert set(statuses) == {code.value for code in Code if code.kind is Kind.SERVICE}
        assert {code.value: code.status for code in Code if code.kind is Kind.SERVICE} == statuses
        assert {code.status for code in Code if code.kind is not Kind.SERVICE} == {422}

    def test_each_code_has_a_meaning(self) -> None:
        for code in Code:
            assert code.meaning.endswith("."), code
            assert "\n" not in code.meaning, code

    def test_the_openapi_text_lists_every_code(self) -> None:
        text = codes_markdown()
        for code in Code:
            assert f"`{code.value}`" in text
            assert code.meaning in text
        assert "`ticket_exists` (`409`)" in text


def _calls(tree: ast.AST, name: str) -> list[ast.Call]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            called = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
            if called == name:
                found.append(node)
    return found


def _is_member(node: ast.expr) -> bool:
    return isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "Code"


class TestEveryCodeComesFromTheRegistry:
    def test_a_code_outside_the_registry_is_refused(self) -> None:
        with pytest.raises(TypeError, match=r"rules\.codes\.Code"):
            Problem("order_id", "message_not_found", "No such message.")  # type: ignore[arg-type]
        assert Problem("order_id", Code.ORDER_NOT_FOUND, "x").as_dict()["code"] == "order_not_found"

    def test_no_literal_code_in_the_source(self) -> None:
        """Problems and the custom errors of validators name a ``Code`` member; pydantic's own types are mapped."""
        offenders = []
        seen = 0
        for path in sorted(SOURCE.rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for call in _calls(tree, "PydanticCustomError"):
                seen += 1
                if not (call.args and _is_member(call.args[0])):
                    offenders.append(f"{path.relative_to(ROOT)}:{call.lineno}")
            for call in _calls(tree, "Problem"):
                seen += 1
                code = call.args[1] if len(call.args) > 1 else next(k.value for k in call.keywords if k.arg == "code")
                if isinstance(code, ast.Constant):
                    offenders.append(f"{path.relative_to(ROOT)}:{call.lineno}")
        assert seen > 60  # the scan found the calls
        assert offenders == []
