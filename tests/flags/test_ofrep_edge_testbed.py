"""Every flagd-testbed evaluator case over HTTP through the OFREP edge: the answer is the in-process evaluator's
resolution in OFREP's shape (200 with value/variant/reason/metadata, 404 FLAG_NOT_FOUND, 400 with the code)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient
from openfeature.evaluation_context import EvaluationContext

from mamori.core.runtime import Runtime
from mamori.flags import FlagEvaluator, etags
from mamori.flags.evaluator import Resolution
from mamori.flags.models import FlagEnvironment
from tests.flags.conftest import sdk_key
from tests.flags.gherkin import parse
from tests.flags.test_ofrep import SINGLE
from tests.flags.test_testbed_conformance import EVALUATOR_DIR, EXCLUDED, Runner
from tests.support import peers


def _requests(scheme: str, flags: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """(case id, flag key, OFREP context) of every testbed case of this scheme, read from its Given steps."""
    out = []
    for feature in sorted((EVALUATOR_DIR / "gherkin").glob("*.feature")):
        for case in parse(feature):
            if case.tags & EXCLUDED[scheme]:
                continue
            runner = Runner(scheme, flags)
            for step in case.steps:
                if step.text == "the flag was evaluated with details":
                    break
                runner.run(step.text, step.table)
            context = dict(runner.attributes)
            if runner.targeting_key is not None:
                context["targetingKey"] = runner.targeting_key
            out.append((case.id, runner.key, context))
    return out


def _expected(result: Resolution) -> tuple[int, dict[str, Any]]:
    """What OFREP answers for a resolution (written out here, apart from the code under test)."""
    if result.error_code == "FLAG_NOT_FOUND":
        return 404, {"key": result.key, "errorCode": "FLAG_NOT_FOUND"}
    if result.error_code is not None:
        known = result.error_code in ("PARSE_ERROR", "TARGETING_KEY_MISSING", "INVALID_CONTEXT")
        return 400, {"key": result.key, "errorCode": result.error_code if known else "GENERAL"}
    body: dict[str, Any] = {"key": result.key, "reason": result.reason, "variant": result.variant}
    if result.variant is not None:
        body["value"] = result.value
    if result.metadata:
        body["metadata"] = dict(result.metadata)
    return 200, body


@pytest.mark.parametrize("scheme", ["cbor", "legacy"])
def test_every_testbed_case_answers_over_http_as_the_evaluator_does(
    scheme: str, runtime: Runtime, client: TestClient
) -> None:
    path = peers("flags", "flagd-testbed", "evaluator", "flags", "testkit-flags.json")
    flags: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    environment = f"testbed-{scheme}"
    with runtime.sessions.begin() as session:
        session.add(
            FlagEnvironment(
                environment=environment,
                flag_set=environment,
                document=flags,
                fractional=scheme,
                etag=etags.environment_etag(flags, scheme),
                updated_at=runtime.now(),
            )
        )
    headers = {"X-API-Key": sdk_key(runtime, environment)}
    evaluator = FlagEvaluator(fractional=scheme)  # type: ignore[arg-type]
    evaluator.set_flags(flags)
    cases = _requests(scheme, flags)
    assert len(cases) > 100
    wrong = []
    statuses: set[int] = set()
    for case_id, key, context in cases:
        attributes = {k: v for k, v in context.items() if k != "targetingKey"}
        result = evaluator.evaluate(key, EvaluationContext(context.get("targetingKey"), attributes))
        status, body = _expected(result)
        answer = client.post(SINGLE + key, json={"context": context}, headers=headers)
        got = answer.json()
        if status != 200:
            got.pop("errorDetails", None)
        statuses.add(answer.status_code)
        if (answer.status_code, got) != (status, body):
            wrong.append((case_id, (status, body), (answer.status_code, got)))
    assert wrong == []
    assert {200, 404}.issubset(statuses), "the suite reaches both found and missing flags"
