"""Matchers and routing against the real Alertmanager: amtool (Debian prometheus-alertmanager) decides.

A seeded generator makes matcher strings, label sets and routing trees; `amtool check-config` says which
matcher lines Alertmanager accepts and `amtool config routes test` where each label set routes. Every
receiver is named after its node, so amtool's answer says exactly which routes matched, in order.
"""

from __future__ import annotations

import random
import re
import subprocess
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from mamori.incidents.alerts.matchers import Matcher, compile_regex, new_matcher, parse_matcher, parse_matcher_list
from mamori.incidents.alerts.routing import RouteNode, matching_nodes, route
from mamori.incidents.kinds.documents import AlertRouteSpec
from tests.support import require_binary

pytestmark = pytest.mark.slow

SEED = 20261207
NAMES = ["a", "b", "alertname", "team"]
EXTRA_NAMES = ["svc:x", "_x", "A1"]
BAD_NAMES = ["名前", "é", "a.b", "a-b", "1a", ""]
"""Names the matcher parser of Alertmanager 0.25 refuses (UTF-8 names came later), for matcher strings only."""
# Characters where ASCII and Unicode semantics part: Unicode letters, digits and spaces, case-folding pairs.
ALPHABET = [*"aAbBkKx019 _-.:,{}", "\n", "\t", "\v", "\f", "\r", "\x1c", "\x85", "\xa0", "\u2003"]
ALPHABET += [*"éÉßẞΣςⅫΩ😀", "\u017f", "\u212a", "\u03c3", "\u0663", "\u01c5", "\ufb00"]
"""With long s, Kelvin sign, small sigma, Arabic-Indic three, titlecase dz and the ff ligature."""
CHUNK = 120


@dataclass
class Case:
    text: str
    amtool_error: str | None = None


# --- amtool ----------------------------------------------------------------------------------------------


def _config(routes: list[dict[str, Any]], **root: Any) -> str:
    receivers = [{"name": "root"}] + [{"name": name} for name in _receivers(routes)]
    document = {"route": {"receiver": "root", **root, "routes": routes}, "receivers": receivers}
    return yaml.safe_dump(document, allow_unicode=False, sort_keys=False, width=1 << 30)


def _receivers(routes: list[dict[str, Any]]) -> Iterator[str]:
    for r in routes:
        yield r["receiver"]
        yield from _receivers(r.get("routes", []))


def _check_configs(amtool: str, folder: Path, documents: list[str]) -> list[str | None]:
    """The error amtool check-config reports for each document, None when it accepts it."""
    answers: list[str | None] = []
    for start in range(0, len(documents), CHUNK):
        files = []
        for offset, document in enumerate(documents[start : start + CHUNK]):
            path = folder / f"c{start + offset}.yml"
            path.write_text(document, encoding="utf-8")
            files.append(str(path))
        out = subprocess.run(
            [amtool, "check-config", *files], check=False, capture_output=True, text=True, timeout=60
        ).stdout
        verdicts = dict(re.findall(r"^Checking '([^']*)'  (SUCCESS|FAILED: .*)$", out, flags=re.MULTILINE))
        assert len(verdicts) == len(files), out[-2000:]
        answers.extend(None if verdicts[f] == "SUCCESS" else verdicts[f] for f in files)
    return answers


def _label_arg(name: str, value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'{name}="{escaped}"'


def _routes_test_args(amtool: str, config: Path, args: list[str]) -> subprocess.CompletedProcess[str]:
    command = [amtool, "config", "routes", "test", f"--config.file={config}", *args]
    return subprocess.run(command, check=False, capture_output=True, text=True, timeout=60)


def _routes_test(amtool: str, config: Path, labels: dict[str, str]) -> list[str]:
    done = _routes_test_args(amtool, config, [_label_arg(k, v) for k, v in labels.items()])
    assert done.returncode == 0, (labels, done.stderr)
    return done.stdout.strip().split(",")


def _route_all(amtool: str, config: Path, label_sets: list[dict[str, str]]) -> list[list[str]]:
    with ThreadPoolExecutor(max_workers=2) as pool:
        return list(pool.map(lambda labels: _routes_test(amtool, config, labels), label_sets))


# --- generators --------------------------------------------------------------------------------------------


def _value(rng: random.Random, length: int = 4) -> str:
    return "".join(rng.choice(ALPHABET) for _ in range(rng.randint(0, length)))


_META = set("\\.+*?()|[]{}^$")
_PIECES = [".", r"\w", r"\W", r"\d", r"\D", r"\s", r"\S", r"\pL", r"\PL", r"\pN", r"\p{Greek}", r"\p{Lu}"]
_PIECES += ["[[:alpha:]]", "[[:^digit:]]", "[[:space:]]", "[[:word:]]", "[[:upper:]]", "[^a]", "[a-k]", "[\\d\\s]"]
_PIECES += [r"\b", r"\B", "^", "$", r"\A", r"\z", r"\x41", r"\x{263a}", r"\v", r"\f", r"\n", r"\t", r"\.", r"\-"]
_PIECES += [r"\Q.*\E", "(?i)", "(?s)", "(?m)", "(?U)", "(?-i)", "()", "(|x)", r"\123", r"\0"]
# Syntax where RE2, Python and Go part ways: Go refuses each of these.
_BAD = [r"\C", "(?<n>x)", "(?P<é>x)", "(?=x)", "(?!x)", r"\1", "x**", "x++", "x{1001}", "(x{100}){11}", "[z-a]"]
_BAD += ["(", ")", r"\Z", r"\e", r"\cA", "[[:foo:]]", r"\p{Foo}", "(?#c)", "*", "x{2}{3}", "(?i-)", r"\8", "[]"]
_QUANTIFIERS = ["*", "+", "?", "*?", "+?", "??", "{2}", "{1,}", "{0,2}", "{1,3}?", "{,2}", "{1000}", "{"]


def _literal(ch: str) -> str:
    return "\\" + ch if ch in _META else ch


_SOURCES: dict[str, str] = {}
"""The value each generated regex was shaped after, to build label values that come close to it."""


def _regex_like(rng: random.Random, value: str) -> str:
    """A regex shaped after a value, so that label values near it match or nearly match."""
    parts: list[str] = []
    for ch in value:
        roll = rng.random()
        if roll < 0.45:
            parts.append(_literal(ch))
        elif roll < 0.7:
            parts.append(rng.choice(_PIECES))
        elif roll < 0.8:
            parts.append(f"(?i:{_literal(ch)})")
        elif roll < 0.95:
            parts.append(_literal(ch) + rng.choice(_QUANTIFIERS))
        else:
            parts.append(rng.choice(_BAD))
    body = "".join(parts)
    if rng.random() < 0.2:
        body = f"({body})|{_literal(rng.choice(ALPHABET))}"
    if rng.random() < 0.1:
        body = f"{body})|({rng.choice(ALPHABET)}"  # escapes Alertmanager's ^(?: )$ wrapper
    _SOURCES.setdefault(body, value)
    return body


def _quote(value: str, rng: random.Random) -> str:
    if rng.random() < 0.15:
        return value  # unquoted, escapes and all
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") if rng.random() < 0.85 else value
    return f'"{escaped}"'


def _matcher_text(rng: random.Random, op: str | None = None) -> str:
    roll = rng.random()
    name = rng.choice(BAD_NAMES if roll < 0.03 else NAMES + EXTRA_NAMES if roll < 0.2 else NAMES)
    op = op or rng.choice(["=", "!=", "=~", "!~"])
    value = _value(rng)
    if "~" in op:
        value = _regex_like(rng, value or "x")
    spaces = rng.choice(["", "", " ", "\t", "\v", "\xa0"])
    return f"{spaces}{name}{rng.choice(['', ' '])}{op}{rng.choice(['', ' '])}{_quote(value, rng)}{spaces}"


_NOISE = ["", ",", "{", "}", '"', "\\", " ", "\u2003", "\x1c", "\v", "=", "~", "!", "é", "1", "a b"]


def _matcher_line(rng: random.Random) -> str:
    """A configuration line: one matcher, or a `{...}` list, sometimes with a stray character."""
    count = rng.choice([0, 1, 1, 1, 2, 3])
    line = ", ".join(_matcher_text(rng) for _ in range(count))
    if count != 1 or rng.random() < 0.2:
        line = rng.choice(["{" + line + "}", line, "{" + line, line + "}"])
    if rng.random() < 0.25:
        at = rng.randint(0, len(line))
        line = line[:at] + rng.choice(_NOISE) + line[at:]
    return line


def _label_set(rng: random.Random) -> dict[str, str]:
    names = NAMES + EXTRA_NAMES
    return {name: _value(rng, 5) for name in rng.sample(names, rng.randint(0, len(names)))}


def _aimed_labels(rng: random.Random, targets: Iterable[Matcher]) -> dict[str, str]:
    """A random label set whose labels named by the targets take the target's own value (a regex's source
    value), sometimes with one character changed, so that matches and near misses are common."""
    labels = _label_set(rng)
    for target in targets:
        value = list(_SOURCES.get(target.value, target.value) if "~" in target.op else target.value)
        if value and rng.random() < 0.3:
            value[rng.randrange(len(value))] = rng.choice(ALPHABET)
        labels[target.name] = "".join(value)
    return labels


def _near_label_sets(rng: random.Random, matchers: Iterable[Matcher], count: int) -> list[dict[str, str]]:
    """Label sets each aimed at a few of the matchers."""
    targets = list(matchers) or [new_matcher("a", "=", "x")]
    return [_aimed_labels(rng, rng.sample(targets, min(len(targets), rng.randint(1, 5)))) for _ in range(count)]


def _mamori_list(line: str) -> list[Matcher] | str:
    try:
        return parse_matcher_list(line)
    except ValueError as exc:
        return str(exc)


def _diff(cases: Iterable[tuple[object, object, object]]) -> list[str]:
    return [f"{what!r}: amtool {theirs!r}, Mamori {ours!r}" for what, theirs, ours in cases if theirs != ours]


# --- matcher lines ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def amtool() -> str:
    return require_binary("amtool")


@pytest.fixture(scope="module")
def judged_lines(amtool: str, tmp_path_factory: pytest.TempPathFactory) -> list[Case]:
    rng = random.Random(SEED)
    lines = list(dict.fromkeys(_matcher_line(rng) for _ in range(1500)))
    documents = [_config([{"receiver": "m", "matchers": [line]}]) for line in lines]
    errors = _check_configs(amtool, tmp_path_factory.mktemp("lines"), documents)
    return [Case(text=line, amtool_error=error) for line, error in zip(lines, errors, strict=True)]


def test_generated_matcher_lines_are_accepted_and_refused_as_alertmanager_does(judged_lines: list[Case]) -> None:
    accepted = sum(case.amtool_error is None for case in judged_lines)
    assert 300 < accepted < len(judged_lines) - 300, "the generator should make both kinds"
    verdicts = [
        (case.text, case.amtool_error is None, not isinstance(_mamori_list(case.text), str)) for case in judged_lines
    ]
    assert _diff(verdicts)[:20] == []


def test_generated_matchers_match_label_sets_as_alertmanager_does(
    amtool: str, judged_lines: list[Case], tmp_path: Path
) -> None:
    rng = random.Random(SEED + 1)
    lines = [c.text for c in judged_lines if c.amtool_error is None and not isinstance(_mamori_list(c.text), str)]
    mismatches: list[str] = []
    compared = 0
    for start in range(0, len(lines), 200):
        chunk = lines[start : start + 200]
        parsed = [parse_matcher_list(line) for line in chunk]
        config = tmp_path / f"m{start}.yml"
        config.write_text(
            _config([{"receiver": f"m{i}", "matchers": [line], "continue": True} for i, line in enumerate(chunk)])
        )
        label_sets = _near_label_sets(rng, (m for ms in parsed for m in ms), 80)
        for labels, theirs in zip(label_sets, _route_all(amtool, config, label_sets), strict=True):
            ours = [f"m{i}" for i, ms in enumerate(parsed) if all(m.matches(labels) for m in ms)] or ["root"]
            compared += len(chunk)
            diverging = (set(ours) ^ set(theirs)) - {"root"}
            mismatches.extend(f"{chunk[int(r[1:])]!r} on {labels!r}: Mamori says {r in ours}" for r in diverging)
    assert compared > 20_000
    assert mismatches[:20] == []


_TOKENS = [*"[]^()>né\\CQE:-ax|*+?P<=!#1}{,$.", "(?", "(?P<", "(?<", "\\C", "\\Q", "\\E", "[:", ":]", "alpha"]
_TOKENS += ["{2}", "{1001}", "\\p{L}", "\\pL", "\\d", "\\\\", "\\]", "\\[", "(?i)", "(?s:"]


def test_token_soup_regexes_are_accepted_and_refused_as_go_does(amtool: str, tmp_path: Path) -> None:
    """Strings of regex syntax fragments, for the corners where RE2 and Go's parser part."""
    rng = random.Random(SEED + 5)
    soups = list(dict.fromkeys("".join(rng.choices(_TOKENS, k=rng.randint(1, 7))) for _ in range(1500)))
    documents = [_config([{"receiver": "m", "match_re": {"a": soup}}]) for soup in soups]
    verdicts = []
    for soup, error in zip(soups, _check_configs(amtool, tmp_path, documents), strict=True):
        try:
            compile_regex(soup)
            ours = True
        except ValueError:
            ours = False
        verdicts.append((soup, error is None, ours))
    assert 300 < sum(theirs for _, theirs, _ in verdicts) < len(verdicts) - 300
    assert _diff(verdicts)[:20] == []


def _mamori_single(text: str) -> Matcher | None:
    try:
        return parse_matcher(text)
    except ValueError:
        return None


def test_single_matchers_parse_as_alertmanager_parses_a_label_argument(amtool: str, tmp_path: Path) -> None:
    """amtool reads each `routes test` argument as one matcher (the form of an AlertRoute's `matchers`
    entries, and of silences); a route on the value Mamori read must then take the alert."""
    rng = random.Random(SEED + 6)
    texts = []
    for _ in range(300):
        text = _matcher_text(rng, op="=" if rng.random() < 0.9 else None)
        if rng.random() < 0.4:
            at = rng.randint(0, len(text))
            text = text[:at] + rng.choice(_NOISE) + text[at:]
        texts.append(text)
    texts = list(dict.fromkeys(t for t in texts if not t.lstrip().startswith("-")))
    parsed = [_mamori_single(text) for text in texts]
    routes = [{"receiver": f"h{i}", "matchers": [str(m)], "continue": True} for i, m in enumerate(parsed) if m]
    config = tmp_path / "single.yml"
    config.write_text(_config(routes))
    with ThreadPoolExecutor(max_workers=2) as pool:
        runs = list(pool.map(lambda text: _routes_test_args(amtool, config, [text]), texts))
    verdicts = []
    for i, (text, ours, run) in enumerate(zip(texts, parsed, runs, strict=True)):
        theirs = f"h{i}" in run.stdout.strip().split(",") if run.returncode == 0 else None
        verdicts.append((text, theirs, None if ours is None or ours.op != "=" else True))
    assert 40 < sum(v[1] is None for v in verdicts) < len(verdicts) - 40
    assert _diff(verdicts)[:20] == []


# --- routing trees ---------------------------------------------------------------------------------------


@dataclass
class Tree:
    routes: list[dict[str, Any]]
    root: RouteNode


def _regex_value(rng: random.Random, good: list[Matcher]) -> str:
    regexes = [m.value for m in good if m.op in ("=~", "!~")]
    return rng.choice(regexes) if regexes and rng.random() < 0.7 else re.escape(_value(rng, 3)) or ".*"


def _tree_routes(
    rng: random.Random, lines: list[str], good: list[Matcher], depth: int, counter: list[int]
) -> list[dict[str, Any]]:
    routes = []
    for _ in range(rng.randint(1 if depth == 0 else 0, 4 if depth == 0 else 3)):
        counter[0] += 1
        node: dict[str, Any] = {"receiver": f"r{counter[0]}"}
        if rng.random() < 0.7:
            node["matchers"] = rng.sample(lines, rng.randint(1, 2))
        if rng.random() < 0.3:
            node["match"] = {rng.choice(NAMES): rng.choice([m.value for m in good if m.op == "="] or ["x"])}
        if rng.random() < 0.3:
            node["match_re"] = {rng.choice(NAMES): _regex_value(rng, good)}
        if rng.random() < 0.4:
            node["continue"] = True
        if rng.random() < 0.3:
            node["group_by"] = rng.choice([["..."], ["alertname"], ["team", "a"]])
        if depth < 2 and rng.random() < 0.5:
            node["routes"] = _tree_routes(rng, lines, good, depth + 1, counter)
        routes.append(node)
    return routes


def _node(route: dict[str, Any]) -> RouteNode:
    """Mamori's tree for an Alertmanager route; `match_re` is anchored once more, as Alertmanager does."""
    matchers = [m for line in route.get("matchers", []) for m in parse_matcher_list(line)]
    matchers += [new_matcher(k, "=", v) for k, v in route.get("match", {}).items()]
    matchers += [new_matcher(k, "=~", f"^(?:{v})$") for k, v in route.get("match_re", {}).items()]
    children = tuple(_node(child) for child in route.get("routes", []))
    return RouteNode(
        matchers=tuple(matchers), continue_=bool(route.get("continue")), routes=children, key=route["receiver"]
    )


def _receivers_of(root: RouteNode, labels: dict[str, str]) -> list[str]:
    return [str(node.key) for node in matching_nodes(root, labels)]


def _compare_trees(
    amtool: str, folder: Path, trees: list[Tree], per_tree: int, ours: Callable[[Tree, dict[str, str]], list[str]]
) -> tuple[int, list[str]]:
    rng = random.Random(SEED + 2)
    mismatches: list[str] = []
    compared = 0
    for number, tree in enumerate(trees):
        config = folder / f"tree{number}.yml"
        config.write_text(_config(tree.routes, group_by=["alertname"]))
        paths = list(_paths(tree.routes, []))
        label_sets = [_aimed_labels(rng, rng.choice(paths)) for _ in range(per_tree)]
        for labels, theirs in zip(label_sets, _route_all(amtool, config, label_sets), strict=True):
            compared += 1
            mine = ours(tree, labels)
            if mine != theirs:
                mismatches.append(f"tree {number} on {labels!r}: amtool {theirs}, Mamori {mine}")
    return compared, mismatches


def _paths(routes: list[dict[str, Any]], above: list[Matcher]) -> Iterator[list[Matcher]]:
    """For each node, the matchers from the top down to it (`match_re` as written), to aim label sets at."""
    for r in routes:
        own = [m for line in r.get("matchers", []) for m in parse_matcher_list(line)]
        own += [new_matcher(k, "=", v) for k, v in r.get("match", {}).items()]
        own += [new_matcher(k, "=~", v) for k, v in r.get("match_re", {}).items()]
        yield above + own
        yield from _paths(r.get("routes", []), above + own)


def _good(judged_lines: list[Case]) -> tuple[list[str], list[Matcher]]:
    lines = [c.text for c in judged_lines if c.amtool_error is None and not isinstance(_mamori_list(c.text), str)]
    return lines, [m for line in lines for m in parse_matcher_list(line)]


def test_generated_routing_trees_route_as_alertmanager_does(
    amtool: str, judged_lines: list[Case], tmp_path: Path
) -> None:
    rng = random.Random(SEED + 3)
    lines, good = _good(judged_lines)
    trees = []
    while len(trees) < 24:
        routes = _tree_routes(rng, lines, good, 0, [0])
        trees.append(Tree(routes=routes, root=_node({"receiver": "root", "routes": routes})))
    documents = [_config(t.routes) for t in trees]
    assert _check_configs(amtool, tmp_path, documents) == [None] * len(trees)
    compared, mismatches = _compare_trees(amtool, tmp_path, trees, 30, lambda t, labels: _receivers_of(t.root, labels))
    assert compared == 720
    assert mismatches[:20] == []


def _single(lines: list[str]) -> list[str]:
    """Lines that are one matcher to both parsers, the form an AlertRoute's `matchers` entries take."""
    out = []
    for line in lines:
        try:
            if [str(m) for m in parse_matcher_list(line)] == [str(parse_matcher(line))]:
                out.append(line)
        except ValueError:
            continue
    return out


def test_alert_route_specs_route_as_the_same_alertmanager_tree_does(
    amtool: str, judged_lines: list[Case], tmp_path: Path
) -> None:
    rng = random.Random(SEED + 4)
    lines = _single(_good(judged_lines)[0])
    trees = []
    for _ in range(12):
        routes = [
            {"receiver": f"r{i}", "matchers": rng.sample(lines, rng.randint(0, 2)), "continue": rng.random() < 0.4}
            for i in range(rng.randint(1, 6))
        ]
        trees.append(Tree(routes=routes, root=RouteNode()))

    def ours(tree: Tree, labels: dict[str, str]) -> list[str]:
        spec = AlertRouteSpec.model_validate(
            {"routes": [{"matchers": r["matchers"], "continue": r["continue"]} for r in tree.routes]}
        )
        return [f"r{r.route_index}" if r.route_index is not None else "root" for r in route("x", spec, labels)]

    compared, mismatches = _compare_trees(amtool, tmp_path, trees, 30, ours)
    assert compared == 360
    assert mismatches[:20] == []
