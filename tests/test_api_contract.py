"""The API contract: each operation documents its bodies; each domain declares its error codes once (``errors.py``)."""

from __future__ import annotations

import ast
import importlib
from enum import StrEnum
from pathlib import Path

import pytest
from pydantic import ValidationError

from rapport.api_routes import ERROR_CODES
from rapport.core.api import Body
from rapport.core.errors import CoreErrorCode
from rapport.urls import api

SRC = Path(__file__).resolve().parents[1] / "src" / "rapport"
DOMAINS = sorted(p.parent.name for p in SRC.glob("*/errors.py") if p.parent.name not in {"core", "console"})
# the code's position in the calls that build an error: FieldError(field, code, message), X.single(field, code,
# message), a cleaner's refusal _Rejected(message, code) and a collector's fail(field, message, code)
CODE_ARGUMENT = {"FieldError": 1, "single": 1, "_Rejected": 1, "fail": 2}


def _called(call: ast.Call) -> str:
    func = call.func
    return func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""


def codes_used(package: Path) -> set[str]:
    """The code literals a package's modules (tests and migrations aside) put in error bodies."""
    found: set[str] = set()
    for path in package.rglob("*.py"):
        if {"tests", "migrations"} & set(path.relative_to(package).parts):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and (position := CODE_ARGUMENT.get(_called(node))) is not None:
                candidates = node.args[position : position + 1] + [k.value for k in node.keywords if k.arg == "code"]
                found |= {a.value for a in candidates if isinstance(a, ast.Constant) and isinstance(a.value, str)}
            if isinstance(node, ast.Dict):
                keys = {k.value: v for k, v in zip(node.keys, node.values, strict=True) if isinstance(k, ast.Constant)}
                code = keys.get("code")
                if "field" in keys and isinstance(code, ast.Constant) and isinstance(code.value, str):
                    found.add(code.value)
    return found


def domain_codes(domain: str) -> type[StrEnum]:
    module = importlib.import_module(f"rapport.{domain}.errors")
    [codes] = [v for k, v in vars(module).items() if k.endswith("ErrorCode") and isinstance(v, type)]
    return codes


@pytest.mark.parametrize("domain", DOMAINS)
def test_every_code_a_domain_uses_is_declared_in_its_enum(domain):
    declared = {c.value for c in domain_codes(domain)}
    undeclared = codes_used(SRC / domain) - declared
    assert not undeclared, f"add these to rapport/{domain}/errors.py: {sorted(undeclared)}"
    unused = declared - codes_used(SRC / domain)
    assert not unused, f"rapport/{domain}/errors.py declares codes nothing raises: {sorted(unused)}"


def test_the_kernel_declares_its_own_codes():
    assert codes_used(SRC / "core") <= {c.value for c in CoreErrorCode}


def test_every_api_domain_documents_its_codes():
    schema = api.get_openapi_schema()
    for codes in ERROR_CODES.values():
        assert schema["components"]["schemas"][codes.__name__]["enum"] == [c.value for c in codes]


def test_every_operation_documents_its_error_responses():
    schema = api.get_openapi_schema()
    for path, methods in schema["paths"].items():
        for method, operation in methods.items():
            responses = operation["responses"]
            where = f"{method.upper()} {path}"
            assert {403, 429} <= set(responses), where
            if operation.get("security"):
                assert 401 in responses, where
            if "{" in path:
                assert 404 in responses, where
            if operation.get("parameters") or "requestBody" in operation:
                assert 422 in responses, where
            assert "$ref" in str(responses[403]["content"]["application/json"]["schema"]), where


def test_every_operation_documents_its_success_body():
    schema = api.get_openapi_schema()
    for path, methods in schema["paths"].items():
        for method, operation in methods.items():
            successes = {status: r for status, r in operation["responses"].items() if 200 <= int(status) < 300}
            assert successes, f"{method.upper()} {path}"
            for status, response in successes.items():
                assert int(status) == 204 or response.get("content"), f"{method.upper()} {path} {status}"


def test_response_schema_names_are_unique_across_domains():
    """The OpenAPI components are keyed by class name: two apps' ``NoteOut`` would document one of them twice."""
    names = [
        node.name
        for path in SRC.glob("*/responses.py")
        for node in ast.parse(path.read_text(encoding="utf-8")).body
        if isinstance(node, ast.ClassDef)
    ]
    assert len(names) == len(set(names)), sorted({n for n in names if names.count(n) > 1})


class _Sample(Body):
    count: int


def test_a_body_that_breaks_its_contract_fails_the_tests_and_goes_out_as_built_in_production(settings):
    assert _Sample.model_validate({"count": 3, "extra": "kept"}).model_dump() == {"count": 3, "extra": "kept"}
    with pytest.raises(ValidationError):
        _Sample.model_validate({"count": None})
    settings.RAPPORT_STRICT_RESPONSES = False
    assert _Sample.model_validate({"count": None, "extra": 1}).model_dump() == {"count": None, "extra": 1}


def test_an_operation_declares_the_statuses_its_shape_does_not_show():
    """A record named in the query (a customer's contacts) can be missing, a plan's launch estimate is
    refused once it runs: ``core.api.ALSO_404`` / ``ALSO_409`` put them in the document (found by
    the API fuzzing's undocumented-status check)."""
    paths = api.get_openapi_schema()["paths"]
    assert "404" in {str(s) for s in paths["/api/v1/contacts"]["get"]["responses"]}
    assert "409" in {str(s) for s in paths["/api/v1/campaigns/plans/{plan_id}/estimate"]["get"]["responses"]}
    assert all("x-error-statuses" not in op for ops in paths.values() for op in ops.values())
