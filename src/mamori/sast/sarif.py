"""SARIF 2.1.0 reader: runs, rules and taxa (CWE), fingerprints, suppressions, baselineState, artifact indexes.

Every problem names its JSON path in the document (`runs[0].results[3].locations[0]...`); all problems of a
document are reported together, and nothing is returned from a document that has any.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from mamori.core.errors import InvalidInput, Problem
from mamori.sast import cwe, severity
from mamori.sast.fingerprint import LINE_HASH_KEY
from mamori.sast.result import ParsedScan, Result, Suppression

_PLACEHOLDERS = {"requires login"}
"""Values some tools put where a fingerprint would be (Semgrep CE without a login): never an identity."""
_ARG = re.compile(r"\{(\d+)\}")
SUPPRESSION_STATUSES = ("accepted", "underReview", "rejected")


@dataclass
class _Ctx:
    problems: list[Problem] = field(default_factory=list)

    def bad(self, loc: str, msg: str) -> None:
        self.problems.append(Problem(loc=loc, msg=msg))


@dataclass
class _Rule:
    id: str
    name: str = ""
    level: str | None = None
    security_severity: float | None = None
    cwes: list[str] = field(default_factory=list)
    precision: str = ""
    help_uri: str = ""
    message_strings: dict[str, str] = field(default_factory=dict)


def _obj(value: Any, loc: str, ctx: _Ctx) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        ctx.bad(loc, f"expected an object, got {type(value).__name__}")
        return {}
    return value


def _list(value: Any, loc: str, ctx: _Ctx) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        ctx.bad(loc, f"expected an array, got {type(value).__name__}")
        return []
    return value


def _text(value: Any, loc: str, ctx: _Ctx) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        ctx.bad(loc, f"expected a string, got {type(value).__name__}")
        return ""
    return value


def _int(value: Any, loc: str, ctx: _Ctx) -> int:
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        ctx.bad(loc, f"expected a non-negative integer, got {value!r}")
        return 0
    return value


def _rule(raw: Any, loc: str, ctx: _Ctx, taxa: dict[str, str]) -> _Rule:
    data = _obj(raw, loc, ctx)
    props = _obj(data.get("properties"), f"{loc}.properties", ctx)
    tags = [t for t in _list(props.get("tags"), f"{loc}.properties.tags", ctx) if isinstance(t, str)]
    related = []
    for j, rel in enumerate(_list(data.get("relationships"), f"{loc}.relationships", ctx)):
        target = _obj(_obj(rel, f"{loc}.relationships[{j}]", ctx).get("target"), f"{loc}.relationships[{j}]", ctx)
        component = _obj(target.get("toolComponent"), f"{loc}.relationships[{j}].target.toolComponent", ctx)
        if str(component.get("name", "")).upper() == "CWE" or "cwe" in str(target.get("id", "")).lower():
            related.append(f"CWE-{target.get('id')}" if str(target.get("id", "")).isdigit() else str(target["id"]))
    score = props.get("security-severity")
    parsed_score: float | None = None
    if score is not None:
        try:
            parsed_score = float(score)
        except (TypeError, ValueError):
            ctx.bad(f"{loc}.properties.security-severity", f"expected a number, got {score!r}")
    strings = {
        k: _text(_obj(v, f"{loc}.messageStrings.{k}", ctx).get("text"), f"{loc}.messageStrings.{k}.text", ctx)
        for k, v in _obj(data.get("messageStrings"), f"{loc}.messageStrings", ctx).items()
    }
    rule_id = _text(data.get("id"), f"{loc}.id", ctx)
    return _Rule(
        id=rule_id,
        name=_text(data.get("name"), f"{loc}.name", ctx),
        level=_obj(data.get("defaultConfiguration"), f"{loc}.defaultConfiguration", ctx).get("level"),
        security_severity=parsed_score,
        cwes=cwe.extract([*related, *tags, *(taxa.get(rule_id, "").split())]),
        precision=str(props.get("precision", "")),
        help_uri=_text(data.get("helpUri"), f"{loc}.helpUri", ctx),
        message_strings=strings,
    )


def _fingerprints(raw: Any, loc: str, ctx: _Ctx) -> dict[str, str]:
    """Flat `scheme -> value`; nested objects (some exporters write `{"x": {"value": ...}}`) are flattened."""
    out: dict[str, str] = {}
    for key, value in _obj(raw, loc, ctx).items():
        if isinstance(value, dict):
            for sub, inner in value.items():
                if isinstance(inner, str | int):
                    out[f"{key}/{sub}" if sub != "value" else key] = str(inner)
        elif isinstance(value, str | int) and not isinstance(value, bool):
            out[key] = str(value)
        else:
            ctx.bad(f"{loc}.{key}", f"expected a string, got {type(value).__name__}")
    return {k: v for k, v in out.items() if v.strip().lower() not in _PLACEHOLDERS}


def _suppressions(raw: Any, loc: str, ctx: _Ctx) -> list[Suppression]:
    out = []
    for i, item in enumerate(_list(raw, loc, ctx)):
        data = _obj(item, f"{loc}[{i}]", ctx)
        kind = _text(data.get("kind"), f"{loc}[{i}].kind", ctx)
        if kind not in ("inSource", "external"):
            ctx.bad(f"{loc}[{i}].kind", f"expected inSource or external, got {kind!r}")
        status = data.get("status") or "accepted"  # an absent status: the tool applied the suppression
        if status not in SUPPRESSION_STATUSES:
            ctx.bad(f"{loc}[{i}].status", f"expected one of {', '.join(SUPPRESSION_STATUSES)}, got {status!r}")
        justification = _text(data.get("justification"), f"{loc}[{i}].justification", ctx)
        out.append(Suppression(kind=kind, status=str(status), justification=justification))
    return out


def relative_path(uri: str, *, base: str = "", roots: tuple[str, ...] = ()) -> str:
    """A repository-relative path from an artifact URI: the scheme, a known root and `./` are dropped."""
    path = uri
    if path.startswith("file://"):
        path = path[len("file://") :]
    for given in (base, *roots):
        root = given.removeprefix("file://").rstrip("/")
        if root and path.startswith(root + "/"):
            path = path[len(root) + 1 :]
            break
    while path.startswith("./"):
        path = path[2:]
    return path.lstrip("/")


@dataclass
class _Run:
    tool: str
    rules: list[_Rule]
    by_id: dict[str, _Rule]
    artifacts: list[Any]
    bases: dict[str, str]
    roots: tuple[str, ...]


def _base_uris(run: dict[str, Any], loc: str, ctx: _Ctx) -> dict[str, str]:
    """`originalUriBaseIds` resolved through their own `uriBaseId` chains."""
    raw = _obj(run.get("originalUriBaseIds"), f"{loc}.originalUriBaseIds", ctx)
    out: dict[str, str] = {}
    for name in raw:
        seen: list[str] = []
        current: str | None = name
        parts: list[str] = []
        while current and current in raw and current not in seen:
            seen.append(current)
            entry = _obj(raw[current], f"{loc}.originalUriBaseIds.{current}", ctx)
            parts.insert(0, str(entry.get("uri", "")))
            current = entry.get("uriBaseId")
        out[name] = "".join(parts)
    return out


def _location(raw: Any, loc: str, ctx: _Ctx, run: _Run) -> tuple[str, int, int, int, str]:
    data = _obj(raw, loc, ctx)
    if "physicalLocation" not in data:  # a logical location only (a binary or a module): its name stands in
        logical = _list(data.get("logicalLocations"), f"{loc}.logicalLocations", ctx)
        first = _obj(logical[0], f"{loc}.logicalLocations[0]", ctx) if logical else {}
        return str(first.get("fullyQualifiedName") or first.get("name") or ""), 0, 0, 0, ""
    physical = _obj(data.get("physicalLocation"), f"{loc}.physicalLocation", ctx)
    art_loc = f"{loc}.physicalLocation.artifactLocation"
    artifact = _obj(physical.get("artifactLocation"), art_loc, ctx)
    uri = _text(artifact.get("uri"), f"{art_loc}.uri", ctx)
    base_id = artifact.get("uriBaseId")
    if "index" in artifact:
        index = _int(artifact.get("index"), f"{art_loc}.index", ctx)
        if index >= len(run.artifacts):
            count = len(run.artifacts)
            ctx.bad(f"{art_loc}.index", f"no runs[].artifacts[{index}] (the run lists {count} artifacts)")
        elif not uri:
            target = _obj(_obj(run.artifacts[index], f"artifacts[{index}]", ctx).get("location"), "location", ctx)
            uri, base_id = str(target.get("uri", "")), target.get("uriBaseId", base_id)
    if not uri:
        ctx.bad(f"{art_loc}.uri", "a result location needs an artifact URI (uri or index)")
    region = _obj(physical.get("region"), f"{loc}.physicalLocation.region", ctx)
    rloc = f"{loc}.physicalLocation.region"
    start = _int(region.get("startLine"), f"{rloc}.startLine", ctx)
    snippet = _text(_obj(region.get("snippet"), f"{rloc}.snippet", ctx).get("text"), f"{rloc}.snippet.text", ctx)
    base = run.bases.get(str(base_id), "") if base_id else ""
    return (
        relative_path(uri, base=base, roots=run.roots),
        start,
        _int(region.get("endLine"), f"{rloc}.endLine", ctx) or start,
        _int(region.get("startColumn"), f"{rloc}.startColumn", ctx),
        snippet,
    )


def _message(raw: Any, loc: str, ctx: _Ctx, rule: _Rule | None) -> str:
    data = _obj(raw, loc, ctx)
    text = _text(data.get("text"), f"{loc}.text", ctx)
    if not text and rule is not None and data.get("id") in rule.message_strings:
        text = rule.message_strings[str(data["id"])]
    args = [str(a) for a in _list(data.get("arguments"), f"{loc}.arguments", ctx)]
    return _ARG.sub(lambda m: args[int(m.group(1))] if int(m.group(1)) < len(args) else m.group(0), text)


def _find_rule(data: dict[str, Any], loc: str, ctx: _Ctx, run: _Run) -> tuple[str, _Rule | None]:
    ref = _obj(data.get("rule"), f"{loc}.rule", ctx)
    rule_id = _text(data.get("ruleId") or ref.get("id"), f"{loc}.ruleId", ctx)
    index = data.get("ruleIndex", ref.get("index"))
    if index is not None and _obj(ref.get("toolComponent"), f"{loc}.rule.toolComponent", ctx).get("index") is None:
        position = _int(index, f"{loc}.ruleIndex", ctx)
        if position >= len(run.rules):
            ctx.bad(f"{loc}.ruleIndex", f"no rule {position} in tool.driver.rules (it has {len(run.rules)})")
            return rule_id, None
        else:
            found = run.rules[position]
            return rule_id or found.id, found
    if not rule_id:
        ctx.bad(f"{loc}.ruleId", "a result needs ruleId, rule.id or ruleIndex")
    return rule_id, run.by_id.get(rule_id)


def _result(raw: Any, loc: str, ctx: _Ctx, run: _Run) -> Result:
    data = _obj(raw, loc, ctx)
    rule_id, rule = _find_rule(data, loc, ctx, run)
    locations = _list(data.get("locations"), f"{loc}.locations", ctx)
    path, start, end, column, snippet = (
        _location(locations[0], f"{loc}.locations[0]", ctx, run) if locations else ("", 0, 0, 0, "")
    )
    props = _obj(data.get("properties"), f"{loc}.properties", ctx)
    partial = _fingerprints(data.get("partialFingerprints"), f"{loc}.partialFingerprints", ctx)
    taxa_ids = [
        str(_obj(t, f"{loc}.taxa[{i}]", ctx).get("id", ""))
        for i, t in enumerate(_list(data.get("taxa"), f"{loc}.taxa", ctx))
    ]
    tags = [t for t in _list(props.get("tags"), f"{loc}.properties.tags", ctx) if isinstance(t, str)]
    result_cwes = cwe.extract([f"CWE-{t}" if t.isdigit() else t for t in taxa_ids] + tags)
    level = data.get("level") or (rule.level if rule else None)
    score = props.get("security-severity")
    sev = _severity(level, score if score is not None else (rule.security_severity if rule else None), props)
    confidence = severity.from_word(str(props.get("issue_confidence") or (rule.precision if rule else "")))
    baseline = data.get("baselineState")
    if baseline is not None and baseline not in ("new", "unchanged", "updated", "absent"):
        ctx.bad(f"{loc}.baselineState", f"expected new, unchanged, updated or absent, got {baseline!r}")
    return Result(
        tool=run.tool,
        rule_id=rule_id,
        rule_name=rule.name if rule else "",
        message=_message(data.get("message"), f"{loc}.message", ctx, rule),
        path=path,
        start_line=start,
        end_line=end,
        start_column=column,
        severity=sev,
        confidence=confidence or "",
        cwes=result_cwes or (list(rule.cwes) if rule else []),
        snippet=snippet,
        line_hash=partial.get(LINE_HASH_KEY),
        tool_fingerprints=_fingerprints(data.get("fingerprints"), f"{loc}.fingerprints", ctx),
        partial_fingerprints=partial,
        suppressions=_suppressions(data.get("suppressions"), f"{loc}.suppressions", ctx),
        baseline_state=baseline,
        help_uri=rule.help_uri if rule else "",
        where=loc,
    )


_FAST_RESULT_KEYS = frozenset(
    {"ruleId", "ruleIndex", "level", "message", "locations", "partialFingerprints", "fingerprints", "properties"}
)
_FAST_LEVELS = frozenset({None, "error", "warning", "note", "none"})
_FAST_PHYSICAL_KEYS = frozenset({"artifactLocation", "region", "contextRegion"})


def _flat_strings(value: Any) -> dict[str, str] | None:
    """A fingerprint object of plain strings (placeholders dropped), else None (the careful reader decides)."""
    if value is None:
        return {}
    if type(value) is not dict:
        return None
    if any(type(item) is not str for item in value.values()):
        return None
    return {k: v for k, v in value.items() if v.strip().lower() not in _PLACEHOLDERS}


def _fast_location(locations: Any, run: _Run) -> tuple[str, int, int, int, str] | None:
    """One physical location with a URI and a plain region, else None."""
    if type(locations) is not list or len(locations) != 1 or type(locations[0]) is not dict:
        return None
    physical = locations[0].get("physicalLocation")
    if locations[0].keys() != {"physicalLocation"} or type(physical) is not dict:
        return None
    artifact, region = physical.get("artifactLocation"), physical.get("region", {})
    if type(artifact) is not dict or type(region) is not dict or not physical.keys() <= _FAST_PHYSICAL_KEYS:
        return None
    uri, base_id = artifact.get("uri"), artifact.get("uriBaseId")
    if type(uri) is not str or not uri or "index" in artifact or (base_id is not None and type(base_id) is not str):
        return None
    start, end, column = region.get("startLine", 0), region.get("endLine"), region.get("startColumn", 0)
    snippet = region.get("snippet", {})
    if type(start) is not int or start < 0 or type(column) is not int or column < 0:
        return None
    if end is not None and (type(end) is not int or end < 0):
        return None
    if type(snippet) is not dict or type(snippet.get("text", "")) is not str:
        return None
    return (
        relative_path(uri, base=run.bases.get(base_id, "") if base_id else "", roots=run.roots),
        start, end or start, column, snippet.get("text", ""),
    )  # fmt: skip


def _fast_result(data: Any, loc: str, run: _Run) -> Result | None:
    """The common, well-formed result read without building error paths; None sends it to the careful reader
    (`_result`), which reads everything else and names every problem. Both give equal results."""
    if type(data) is not dict or not data.keys() <= _FAST_RESULT_KEYS:
        return None
    rule_id, index, level = data.get("ruleId"), data.get("ruleIndex"), data.get("level")
    message, props = data.get("message"), data.get("properties", {})
    if type(rule_id) is not str or not rule_id or level not in _FAST_LEVELS or type(props) is not dict:
        return None
    if type(message) is not dict or message.keys() != {"text"} or type(message["text"]) is not str:
        return None
    rule = run.by_id.get(rule_id)
    if index is not None and (type(index) is not int or index >= len(run.rules) or run.rules[index].id != rule_id):
        return None
    place = _fast_location(data.get("locations"), run)
    if place is None:
        return None
    path, start, end, column, snippet = place
    tags = props.get("tags", [])
    partial, prints = _flat_strings(data.get("partialFingerprints")), _flat_strings(data.get("fingerprints"))
    if partial is None or prints is None or type(tags) is not list:
        return None
    score = props.get("security-severity")
    sev = _severity(
        level or (rule.level if rule else None),
        score if score is not None else (rule.security_severity if rule else None),
        props,
    )
    confidence = severity.from_word(str(props.get("issue_confidence") or (rule.precision if rule else "")))
    result_cwes = cwe.extract([t for t in tags if isinstance(t, str)]) if tags else []
    return Result(
        tool=run.tool, rule_id=rule_id, rule_name=rule.name if rule else "", message=message["text"],
        path=path, start_line=start, end_line=end, start_column=column, severity=sev, confidence=confidence or "",
        cwes=result_cwes or (list(rule.cwes) if rule else []), snippet=snippet,
        line_hash=partial.get(LINE_HASH_KEY), tool_fingerprints=prints, partial_fingerprints=partial,
        help_uri=rule.help_uri if rule else "", where=loc,
    )  # fmt: skip


def _severity(level: Any, score: Any, props: dict[str, Any]) -> str:
    if score is not None:
        try:
            return severity.from_security_severity(float(score))
        except (TypeError, ValueError):
            pass
    own = severity.from_word(str(props.get("issue_severity") or props.get("severity") or ""))
    return own or severity.from_level(str(level) if level else None)


def _run(raw: Any, loc: str, ctx: _Ctx, roots: tuple[str, ...]) -> ParsedScan:
    data = _obj(raw, loc, ctx)
    tool = _obj(data.get("tool"), f"{loc}.tool", ctx)
    driver = _obj(tool.get("driver"), f"{loc}.tool.driver", ctx)
    name = _text(driver.get("name"), f"{loc}.tool.driver.name", ctx)
    if not name:
        ctx.bad(f"{loc}.tool.driver.name", "every run names its tool")
    taxa: dict[str, str] = {}
    rules = [
        _rule(r, f"{loc}.tool.driver.rules[{i}]", ctx, taxa)
        for i, r in enumerate(_list(driver.get("rules"), f"{loc}.tool.driver.rules", ctx))
    ]
    for e, ext in enumerate(_list(tool.get("extensions"), f"{loc}.tool.extensions", ctx)):
        ext_rules = _list(_obj(ext, f"{loc}.tool.extensions[{e}]", ctx).get("rules"), f"{loc}.extensions", ctx)
        rules += [_rule(r, f"{loc}.tool.extensions[{e}].rules[{i}]", ctx, taxa) for i, r in enumerate(ext_rules)]
    run = _Run(
        tool=name,
        rules=rules,
        by_id={r.id: r for r in rules},
        artifacts=_list(data.get("artifacts"), f"{loc}.artifacts", ctx),
        bases=_base_uris(data, loc, ctx),
        roots=roots,
    )
    results = _list(data.get("results"), f"{loc}.results", ctx)
    parsed = [_fast_result(r, "", run) or _result(r, f"{loc}.results[{i}]", ctx, run) for i, r in enumerate(results)]
    for i, result in enumerate(parsed):
        result.where = result.where or f"{loc}.results[{i}]"
    automation = _obj(data.get("automationDetails"), f"{loc}.automationDetails", ctx)
    category = _text(automation.get("id"), f"{loc}.automationDetails.id", ctx)
    return ParsedScan(
        tool=name,
        tool_version=str(driver.get("semanticVersion") or driver.get("version") or ""),
        results=parsed,
        format="sarif",
        category=category.rsplit("/", 1)[0] if "/" in category else category,
    )


def parse(document: Any, *, roots: tuple[str, ...] = ()) -> list[ParsedScan]:
    """Every run of a SARIF 2.1.0 log (already decoded JSON); `roots` are checkout paths to strip from URIs."""
    ctx = _Ctx()
    data = _obj(document, "$", ctx)
    if ctx.problems:
        raise InvalidInput("not a SARIF log: the document is not a JSON object", problems=ctx.problems)
    version = data.get("version")
    if version != "2.1.0":
        ctx.bad("version", f"expected SARIF version 2.1.0, got {version!r}")
    if "runs" not in data:
        ctx.bad("runs", "a SARIF log has a runs array")
    runs = [_run(r, f"runs[{i}]", ctx, roots) for i, r in enumerate(_list(data.get("runs"), "runs", ctx))]
    if ctx.problems:
        shown = ctx.problems[:50]
        more = f" (first 50 of {len(ctx.problems)})" if len(ctx.problems) > 50 else ""
        raise InvalidInput(f"not a valid SARIF 2.1.0 log{more}", problems=shown)
    return runs
