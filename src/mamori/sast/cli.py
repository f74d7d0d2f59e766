"""`mamori sast ...`: upload scanner output from CI, gate a pull request, triage, score the tools."""

from __future__ import annotations

import json
import sys
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from mamori import cli_support
from mamori.cli_support import handle_errors, print_json
from mamori.core.audit import Actor
from mamori.core.errors import InvalidInput
from mamori.sast import check_run, gate_report, pentest, scorecard, scorecard_report
from mamori.sast.result import tool_slug
from mamori.sast.schemas import FindingOut, ScanOut
from mamori.sast.service import gate, intake, publish, queries, scoring, triage
from mamori.sast.service import github as github_service
from mamori.sast.service.scans import Upload

sast_app = typer.Typer(help="Static analysis: scanner intake, PR gates, tool scorecards.", no_args_is_help=True)

GATE_BLOCKED = 1
"""Exit code of a gate that found new findings that block (every other failure has its error's code)."""


@sast_app.callback()
def _group() -> None:
    """Static analysis findings (SARIF and native scanner output)."""


class GateFormat(StrEnum):
    text = "text"
    json = "json"
    sarif = "sarif"
    check_run = "check-run"


@sast_app.command("upload")
@handle_errors
def upload_command(  # noqa: PLR0917 - Typer passes options by name
    files: Annotated[list[Path], typer.Argument(help="SARIF 2.1.0 or native JSON reports (Semgrep, Bandit, ...).")],
    repo: Annotated[str, typer.Option("--repo", help="The repository, as owner/name.")],
    commit: Annotated[str, typer.Option("--commit", help="The scanned commit SHA.")],
    branch: Annotated[str | None, typer.Option("--branch")] = None,
    pr: Annotated[int | None, typer.Option("--pr", help="The pull request (a PR scan closes nothing).")] = None,
    category: Annotated[str | None, typer.Option("--category", help="Overrides SARIF automationDetails.id.")] = None,
    checkout: Annotated[
        Path | None, typer.Option("--checkout", help="The checkout the tool scanned: line hashes from source.")
    ] = None,
    fmt: Annotated[str | None, typer.Option("--format", help="sarif, semgrep, bandit, brakeman, horusec")] = None,
    scanned: Annotated[
        list[str] | None, typer.Option("--scanned-path", help="Only these paths were scanned (repeatable).")
    ] = None,
) -> None:
    """Store the reports of one commit (one scan per tool and category) in one transaction."""
    payloads = []
    for path in files:
        if not path.is_file():
            raise InvalidInput(f"{path}: no such file")
        payloads.append((path.name, path.read_bytes()))
    rt = cli_support.runtime()
    upload = Upload(repo=repo, commit=commit, branch=branch, pr=pr, category=category, scanned_paths=scanned)
    with rt.sessions.begin() as session:
        scans = intake.upload_files(
            session, payloads=payloads, upload=upload, now=rt.now(), bus=rt.bus, actor="cli", fmt=fmt,
            checkout=checkout,
        )  # fmt: skip
        out = [ScanOut.of(s).model_dump(mode="json") for s in scans]
    print_json({"scans": out})


@sast_app.command("gate")
@handle_errors
def gate_command(  # noqa: PLR0917 - Typer passes options by name
    repo: Annotated[str, typer.Option("--repo")],
    base: Annotated[str, typer.Option("--base", help="The base commit SHA (the target branch).")],
    head: Annotated[str, typer.Option("--head", help="The head commit SHA (the pull request).")],
    fail_on: Annotated[str | None, typer.Option("--fail-on", help="The lowest severity that blocks.")] = None,
    fmt: Annotated[GateFormat, typer.Option("--format")] = GateFormat.text,
    diff: Annotated[
        Path | None, typer.Option("--diff", help="`git diff BASE HEAD`: check-run annotations on changed lines only.")
    ] = None,
    pr: Annotated[
        int | None, typer.Option("--pr", help="The pull request for the comment (default: the head scans' --pr).")
    ] = None,
    post: Annotated[
        bool | None,
        typer.Option(
            "--post/--no-post", help="Post the check run and PR comment (default: when a GitHub token is set)."
        ),
    ] = None,
) -> None:
    """Exit 1 only when findings new in head against base, not triaged away, reach the threshold. With a GitHub
    token, the verdict is also posted as the head commit's check run and the pull request's one comment."""
    if diff is not None and not diff.is_file():
        raise InvalidInput(f"{diff}: no such file")
    diff_text = diff.read_text(encoding="utf-8") if diff else None
    rt = cli_support.runtime()
    with rt.sessions() as session:
        verdict = gate.evaluate(session, repo=repo, base=base, head=head, now=rt.now(), fail_on=fail_on)
        pr = pr if pr is not None else publish.pull_request_of(session, repo=repo, head=head)
    if fmt is GateFormat.json:
        print_json(gate_report.as_json(verdict))
    elif fmt is GateFormat.sarif:
        sys.stdout.write(json.dumps(gate_report.as_sarif(verdict), indent=2) + "\n")
    elif fmt is GateFormat.check_run:
        print_json(check_run.body(verdict, diff=diff_text))
    else:
        sys.stdout.write(gate_report.as_text(verdict) + "\n")
    if post or (post is None and publish.client(rt) is not None):
        done = publish.publish(rt, verdict=verdict, pr=pr, diff=diff_text)
        cli_support.err_console.print(
            f"check run {done.check_run_id} {'created' if done.check_run_created else 'updated'}"
            + (f"; comment on #{pr} {'created' if done.comment_created else 'edited'}" if done.comment_id else ""),
            markup=False, highlight=False,
        )  # fmt: skip
    if not verdict.passed:
        raise typer.Exit(GATE_BLOCKED)


@sast_app.command("findings")
@handle_errors
def findings_command(
    repo: Annotated[str | None, typer.Option("--repo")] = None,
    open_only: Annotated[bool, typer.Option("--open/--all", help="Only findings still reported.")] = True,
) -> None:
    """The findings of a repository (or all), as JSON."""
    rt = cli_support.runtime()
    with rt.sessions() as session:
        rows = queries.list_findings(session, repo=repo, open_only=open_only)
        tools = queries.tools_by_finding(session, [f.id for f in rows])
        print_json([FindingOut.of(f, tools.get(f.id, [])).model_dump(mode="json") for f in rows])


@sast_app.command("triage")
@handle_errors
def triage_command(
    finding_id: Annotated[str, typer.Argument()],
    state: Annotated[str, typer.Option("--state", help="confirmed, false_positive, wont_fix, accepted_risk, ...")],
    reason: Annotated[str | None, typer.Option("--reason")] = None,
    until: Annotated[
        datetime | None, typer.Option("--until", help="Expiry of an accepted risk (ISO date, UTC).")
    ] = None,
    by: Annotated[str, typer.Option("--by", help="Who decides (recorded in the audit log).")] = "cli",
) -> None:
    """Record a triage decision; it follows the finding across rescans, branches and moves."""
    rt = cli_support.runtime()
    expiry = until.replace(tzinfo=until.tzinfo or rt.now().tzinfo) if until else None
    with rt.sessions.begin() as session:
        finding = triage.triage(
            session, finding_id=finding_id, state=state, reason=reason, accepted_until=expiry,
            actor=Actor(name=by, source="cli"), now=rt.now(), bus=rt.bus,
        )  # fmt: skip
        print_json(FindingOut.of(finding).model_dump(mode="json"))


class ScoreFormat(StrEnum):
    json = "json"
    md = "md"


def _score_files(expected: Path, reports: list[Path], *, lines: bool) -> list[scorecard.ToolScore]:
    text = expected.read_text(encoding="utf-8")
    if lines:
        cases = scorecard.parse_line_labels(text, source=expected.name)
    else:
        cases = scorecard.parse_expected(text, source=expected.name)
    scores = []
    for path in reports:
        if not path.is_file():
            raise InvalidInput(f"{path}: no such file")
        for run in intake.parse_report(path.read_bytes()):
            reported = scorecard.flagged_lines(run.results) if lines else scorecard.flagged(run.results)
            scores.append(scorecard.score(tool_slug(run.tool), cases, reported))
    return scores


@sast_app.command("scorecard")
@handle_errors
def scorecard_command(  # noqa: PLR0917 - Typer passes options by name
    reports: Annotated[list[Path] | None, typer.Argument(help="Tool reports on the labelled suite.")] = None,
    expected: Annotated[
        Path | None, typer.Option("--expected", help="BenchmarkUtils expected results (CSV) of the suite.")
    ] = None,
    lines: Annotated[
        bool, typer.Option("--lines", help="--expected labels lines (Juice Shop, RailsGoat), not test cases.")
    ] = False,
    suite: Annotated[str, typer.Option("--suite", help="The suite's name, when recorded.")] = "benchmark",
    record: Annotated[bool, typer.Option("--record", help="Keep the scores (the trend over time).")] = False,
    fmt: Annotated[ScoreFormat, typer.Option("--format")] = ScoreFormat.md,
) -> None:
    """Score tools as OWASP BenchmarkUtils does: with --expected, the given reports (offline); without, the
    recorded scorecards and the team's triage."""
    if expected is not None:
        if not expected.is_file():
            raise InvalidInput(f"{expected}: no such file")
        scores = _score_files(expected, reports or [], lines=lines)
        if record:
            rt = cli_support.runtime()
            with rt.sessions.begin() as session:
                for score in scores:
                    scoring.record(session, score=score, suite=suite, now=rt.now())
        if fmt is ScoreFormat.json:
            print_json(scorecard_report.as_json(scores))
        else:
            sys.stdout.write(scorecard_report.as_markdown(scores))
        return
    rt = cli_support.runtime()
    with rt.sessions() as session:
        recorded: list[dict[str, Any]] = [
            {"tool": r.tool, "suite": r.suite, "at": r.at.isoformat(), "overall": r.overall, "categories": r.categories}
            for r in scoring.latest(session)
        ]
        triaged: list[dict[str, Any]] = [
            {"tool": t.tool, "cwe": t.cwe, "tp": t.tp, "fp": t.fp, "fn": t.fn, "precision": t.precision, "tpr": t.tpr}
            for t in scoring.triage_scores(session)
        ]
    if fmt is ScoreFormat.json:
        print_json({"benchmarks": recorded, "triage": triaged})
        return
    table = ["| tool | suite | TPR | FPR | precision | score |", "|---|---|---|---|---|---|"]
    table += [
        f"| {r['tool']} | {r['suite']} | {r['overall']['tpr']:.1%} | {r['overall']['fpr']:.1%} "
        f"| {'n/a' if r['overall']['precision'] is None else format(r['overall']['precision'], '.1%')} "
        f"| {r['overall']['score']:+.1%} |"
        for r in recorded
    ]
    table += ["", "| tool | CWE | confirmed | false positives | missed | precision |", "|---|---|---|---|---|---|"]
    table += [
        f"| {t['tool']} | {t['cwe']} | {t['tp']} | {t['fp']} | {t['fn']} "
        f"| {'n/a' if t['precision'] is None else format(t['precision'], '.1%')} |"
        for t in triaged
    ]
    sys.stdout.write("\n".join(table) + "\n")


@sast_app.command("pentest")
@handle_errors
def pentest_command(
    file: Annotated[Path, typer.Argument(help="Confirmed pentest findings: CSV or YAML.")],
    repo: Annotated[str, typer.Option("--repo")],
) -> None:
    """Import a pentest's findings and say which tool would have caught each, and how many days earlier."""
    if not file.is_file():
        raise InvalidInput(f"{file}: no such file")
    fmt = "csv" if file.suffix.lower() == ".csv" else "yaml"
    findings = pentest.parse(file.read_text(encoding="utf-8"), fmt=fmt)
    rt = cli_support.runtime()
    with rt.sessions.begin() as session:
        added, known = scoring.import_pentest(
            session, repo=repo, findings=findings, now=rt.now(), source_name=file.name
        )
        report = [
            {
                "title": m.finding.title, "cwe": m.finding.cwe, "path": m.finding.path, "endpoint": m.finding.endpoint,
                "found_at": m.finding.found_at.isoformat(), "sast_finding": m.sast_finding_id,
                "caught_by": [
                    {"tool": c.tool, "first_commit": c.first_commit, "first_seen_at": c.first_seen_at.isoformat(),
                     "days_early": c.days_early}
                    for c in m.caught_by
                ],
            }
            for m in scoring.pentest_report(session, repo=repo)
        ]  # fmt: skip
    print_json({"added": added, "already_known": known, "findings": report})


@sast_app.command("github-alerts")
@handle_errors
def github_alerts_command(
    file: Annotated[Path, typer.Argument(help="A code-scanning alerts listing (the REST API's JSON answer).")],
    repo: Annotated[str, typer.Option("--repo")],
    commit: Annotated[str, typer.Option("--commit", help="The default branch's commit the alerts describe.")],
    branch: Annotated[str | None, typer.Option("--branch")] = None,
) -> None:
    """Import GitHub code scanning's alerts: one scan per tool; alerts no longer listed are fixed."""
    if not file.is_file():
        raise InvalidInput(f"{file}: no such file")
    rt = cli_support.runtime()
    with rt.sessions.begin() as session:
        scans = github_service.import_alerts(
            session, payload=file.read_bytes(), repo=repo, commit=commit, branch=branch, now=rt.now(), bus=rt.bus
        )
        print_json({"scans": [ScanOut.of(s).model_dump(mode="json") for s in scans]})
