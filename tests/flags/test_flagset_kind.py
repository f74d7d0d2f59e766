"""The FlagSet kind: both documented forms load as written; bad flag files get errors naming file and field."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mamori.cli import app
from mamori.core import manifest
from mamori.core.errors import ValidationFailed
from mamori.core.manifest import KindRegistry
from mamori.flags.kinds import FLAG_SET_KIND

# The two documents of the issue, verbatim.
ISSUE_EXAMPLE = """\
apiVersion: mamori.dev/v1
kind: FlagSet
metadata: {name: jobs-web-production}
spec:
  environment: production
  file: jobs-web.flagd.json     # path relative to this document
---
apiVersion: mamori.dev/v1
kind: FlagSet
metadata: {name: jobs-web-staging}
spec:
  environment: staging
  flagd:                        # the flagd document itself
    flags:
      new-search: {state: ENABLED, variants: {"on": true, "off": false}, defaultVariant: "off"}
"""
JOBS_WEB_FLAGD = {
    "flags": {
        "new-search": {
            "state": "ENABLED",
            "variants": {"on": True, "off": False},
            "defaultVariant": "off",
            "targeting": {"fractional": [["on", 10], ["off", 90]]},
        },
        "checkout-theme": {
            "state": "ENABLED",
            "variants": {"light": "light", "dark": "dark"},
            "defaultVariant": "light",
        },
    },
}


def registry() -> KindRegistry:
    kinds = KindRegistry()
    kinds.register(FLAG_SET_KIND)
    return kinds


def write_issue_example(root: Path, flagd: object = JOBS_WEB_FLAGD) -> Path:
    (root / "flags.yaml").write_text(ISSUE_EXAMPLE, encoding="utf-8")
    (root / "jobs-web.flagd.json").write_text(json.dumps(flagd), encoding="utf-8")
    return root


def test_both_documented_flag_set_forms_load_as_written(tmp_path: Path) -> None:
    bundle = manifest.load(write_issue_example(tmp_path), registry())
    production = bundle.get("FlagSet", "jobs-web-production")
    staging = bundle.get("FlagSet", "jobs-web-staging")
    assert production is not None and staging is not None
    assert production.model.environment == "production"
    assert production.model.flagd == JOBS_WEB_FLAGD
    assert production.model.fractional == "cbor"
    assert production.model.reason_required and not staging.model.reason_required
    assert staging.model.flagd["flags"]["new-search"]["defaultVariant"] == "off"


def test_flagd_file_may_be_yaml_and_the_legacy_scheme_is_said_in_the_flag_set(tmp_path: Path) -> None:
    (tmp_path / "set.yaml").write_text(
        "apiVersion: mamori.dev/v1\nkind: FlagSet\nmetadata: {name: web-dev}\n"
        "spec: {environment: development, file: flags/dev.flagd.yaml, fractional: legacy}\n",
        encoding="utf-8",
    )
    (tmp_path / "flags").mkdir()
    (tmp_path / "flags" / "dev.flagd.yaml").write_text(
        "flags:\n  beta: {state: DISABLED, variants: {a: 1, b: 2}, defaultVariant: a}\n", encoding="utf-8"
    )
    doc = manifest.load(tmp_path, registry()).get("FlagSet", "web-dev")
    assert doc is not None and doc.model.fractional == "legacy"
    assert doc.model.flagd["flags"]["beta"]["variants"] == {"a": 1, "b": 2}


def test_dates_in_a_yaml_flagd_file_stay_the_text_written(tmp_path: Path) -> None:
    (tmp_path / "set.yaml").write_text(
        "apiVersion: mamori.dev/v1\nkind: FlagSet\nmetadata: {name: web-dev}\n"
        "spec: {environment: development, file: dev.flagd.yaml}\n",
        encoding="utf-8",
    )
    (tmp_path / "dev.flagd.yaml").write_text(
        "flags:\n  cutover:\n    state: ENABLED\n    defaultVariant: old\n"
        "    variants: {old: 2024-01-01, new: 2025-01-01T09:00:00}\n",
        encoding="utf-8",
    )
    doc = manifest.load(tmp_path, registry()).get("FlagSet", "web-dev")
    assert doc is not None
    assert doc.model.flagd["flags"]["cutover"]["variants"] == {
        "old": "2024-01-01",
        "new": "2025-01-01T09:00:00",
    }


def _problems(root: Path) -> list[str]:
    with pytest.raises(ValidationFailed) as caught:
        manifest.load(root, registry())
    return [p.render() for p in caught.value.problems]


def test_bad_flagd_file_names_the_file_and_the_field(tmp_path: Path) -> None:
    bad = {"flags": {"new-search": {"state": "ON", "variants": {"on": True, "off": "no"}, "defaultVariant": "off"}}}
    rendered = _problems(write_issue_example(tmp_path, bad))
    assert any(
        "jobs-web.flagd.json" in r and "flags.new-search.state" in r and "ENABLED or DISABLED" in r for r in rendered
    ), rendered
    assert any("flags.new-search.variants" in r and "one type" in r for r in rendered), rendered


def test_missing_file_unknown_scheme_and_both_forms_are_refused(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(
        "apiVersion: mamori.dev/v1\nkind: FlagSet\nmetadata: {name: a}\nspec: {environment: dev, file: nope.json}\n"
        "---\napiVersion: mamori.dev/v1\nkind: FlagSet\nmetadata: {name: b}\n"
        "spec: {environment: qa, fractional: float, flagd: {flags: {}}}\n"
        "---\napiVersion: mamori.dev/v1\nkind: FlagSet\nmetadata: {name: c}\n"
        "spec: {environment: prod, file: x.json, flagd: {flags: {}}}\n",
        encoding="utf-8",
    )
    rendered = "\n".join(_problems(tmp_path))
    assert "nope.json: no such file" in rendered
    assert "spec.fractional" in rendered
    assert "either file or flagd" in rendered


def test_inline_problems_point_into_spec_flagd_and_unknown_refs_are_caught(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(
        "apiVersion: mamori.dev/v1\nkind: FlagSet\nmetadata: {name: a}\nspec:\n  environment: dev\n  flagd:\n"
        "    flags:\n      f: {state: ENABLED, variants: {a: x}, defaultVariant: b,"
        " targeting: {if: [{$ref: nobody}, a, null]}}\n",
        encoding="utf-8",
    )
    rendered = "\n".join(_problems(tmp_path))
    assert "spec.flagd.flags.f.defaultVariant" in rendered
    assert "$ref 'nobody'" in rendered


def test_two_flag_sets_for_one_environment_are_refused(tmp_path: Path) -> None:
    text = (
        "apiVersion: mamori.dev/v1\nkind: FlagSet\nmetadata: {name: %s}\nspec: {environment: dev, flagd: {flags: {}}}\n"
    )
    (tmp_path / "a.yaml").write_text(text % "one" + "---\n" + text % "two", encoding="utf-8")
    assert any("already has FlagSet 'one'" in r for r in _problems(tmp_path))


runner = CliRunner()


def test_offline_eval_prints_key_value_variant_reason_and_error_code(tmp_path: Path) -> None:
    write_issue_example(tmp_path)
    result = runner.invoke(
        app,
        [
            "flags",
            "eval",
            "--flags",
            str(tmp_path / "jobs-web.flagd.json"),
            "--flag",
            "checkout-theme",
            "--context",
            "{}",
            "--format",
            "json",
        ],
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {
        "key": "checkout-theme",
        "value": "light",
        "variant": "light",
        "reason": "STATIC",
        "error_code": None,
    }
    missing = runner.invoke(
        app, ["flags", "eval", "--flags", str(tmp_path / "jobs-web.flagd.json"), "--flag", "nope", "--format", "json"]
    )
    assert json.loads(missing.stdout)["error_code"] == "FLAG_NOT_FOUND"


def test_offline_eval_reads_a_flag_set_document_with_its_scheme(tmp_path: Path) -> None:
    (tmp_path / "set.yaml").write_text(
        "apiVersion: mamori.dev/v1\nkind: FlagSet\nmetadata: {name: x}\nspec:\n  environment: dev\n"
        "  fractional: legacy\n  flagd:\n    flags:\n      fractional-flag-shorthand:\n        state: ENABLED\n"
        "        variants: {heads: heads, tails: tails}\n        defaultVariant: heads\n"
        "        targeting: {fractional: [[heads], [tails, 1]]}\n",
        encoding="utf-8",
    )
    # The flagd-testbed vector for the legacy scheme: flag key + targeting key, MurmurHash3 of UTF-8.
    outputs = []
    for key in ("jon@company.com", "jane@company.com"):
        result = runner.invoke(
            app,
            [
                "flags",
                "eval",
                "--flags",
                str(tmp_path / "set.yaml"),
                "--flag",
                "fractional-flag-shorthand",
                "--context",
                json.dumps({"targetingKey": key}),
            ],
        )
        assert result.exit_code == 0, result.output
        outputs.append(json.loads(result.stdout))
    assert all(o["reason"] == "TARGETING_MATCH" for o in outputs)
    # The testbed's @fractional-v2 vectors; the default cbor scheme puts both keys in "tails".
    assert [o["value"] for o in outputs] == ["heads", "tails"]


def test_offline_eval_refuses_bad_context_and_bad_file_with_exit_code_2(tmp_path: Path) -> None:
    write_issue_example(tmp_path)
    bad_ctx = runner.invoke(
        app, ["flags", "eval", "--flags", str(tmp_path / "jobs-web.flagd.json"), "--flag", "x", "--context", "{nope"]
    )
    assert bad_ctx.exit_code == 2 and "--context is not valid JSON" in bad_ctx.output
    (tmp_path / "bad.json").write_text('{"flags": {"x": {"state": "ENABLED"}}}', encoding="utf-8")
    bad_file = runner.invoke(app, ["flags", "eval", "--flags", str(tmp_path / "bad.json"), "--flag", "x"])
    assert bad_file.exit_code == 2 and "flags.x.variants" in bad_file.output
