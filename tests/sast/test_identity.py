"""A result's identities from source: line hashes, the flagged line's text, in-source suppressions."""

from __future__ import annotations

from mamori.sast import identity
from mamori.sast.matcher import Known, match
from mamori.sast.result import Result

SOURCE = "import subprocess\n\nsubprocess.call(cmd, shell=True)  # nosec B602: cmd is a constant\nx = 1\n"


def _result(line: int, **kw: object) -> Result:
    return Result(tool="bandit", rule_id="B602", message="shell", path="a.py", start_line=line, **kw)  # type: ignore[arg-type]


def test_nosec_and_nosemgrep_on_the_flagged_line_are_read_as_in_source_suppressions() -> None:
    results = [_result(3), _result(4)]
    identity.assign_line_hashes(results, lambda path: SOURCE)
    assert [(s.kind, s.justification) for s in results[0].suppressions] == [
        ("inSource", "nosec: B602: cmd is a constant")
    ]
    assert results[0].suppressed and not results[1].suppressed
    assert identity.in_source_marker("eval(x)  // nosemgrep: rule.id") == "nosemgrep: rule.id"
    assert identity.in_source_marker("x = 'nosecurity'") is None


def test_without_source_the_snippet_stands_in_and_without_either_the_line_number() -> None:
    with_snippet, bare = _result(3, snippet="  subprocess.call(cmd)\n"), _result(9)
    identity.assign_line_hashes([with_snippet, bare], None)
    assert with_snippet.line_hash is not None and with_snippet.line_hash.startswith("snippet:")
    assert bare.line_hash == "line:9"


def test_an_edit_just_below_the_line_still_matches_by_the_lines_own_text() -> None:
    before = _result(3)
    identity.assign_line_hashes([before], lambda path: SOURCE)
    edited = SOURCE.replace("x = 1", "x = compute_the_next_value_with_a_much_longer_line_of_code()\n" * 3)
    edited = "# header\n" + edited
    after = _result(4)
    identity.assign_line_hashes([after], lambda path: edited)
    assert after.line_hash != before.line_hash and after.text_hash == before.text_hash
    old = identity.candidate(before)
    known = Known(
        id="k", rule=old.rule, path=old.path, line=3, message=old.message, line_hash=old.line_hash,
        text_hash=old.text_hash, fingerprints=frozenset({"mamori/v0:retired"}),
    )  # fmt: skip
    outcome = match([identity.candidate(after)], [known])
    assert outcome.matches == [(0, "k", "moved")] and outcome.fixed == []


def test_a_deprecated_tool_hash_still_matches_after_the_tool_changed_its_algorithm() -> None:
    old = Known(
        id="k", rule="horusec/HS-1", path="a.py", line=3, message="m", line_hash="zz:1", text_hash="",
        fingerprints=frozenset({"tool:horusec:vulnHash=OLD"}), tool_fingerprints=(("vulnHash", "OLD"),),
    )  # fmt: skip
    new = Result(
        tool="horusec", rule_id="HS-1", message="m", path="b.py", start_line=40, line_hash="other:1",
        tool_fingerprints={"vulnHash": "NEW"}, deprecated_fingerprints=["OLD"],
    )  # fmt: skip
    assert match([identity.candidate(new)], [old]).matches == [(0, "k", "moved")]
    new.deprecated_fingerprints = []
    assert match([identity.candidate(new)], [old]).matches == [(0, None, "new")]
