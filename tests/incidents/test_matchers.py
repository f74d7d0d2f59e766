from __future__ import annotations

import pytest

from mamori.incidents.alerts.matchers import new_matcher, parse_matcher, parse_matcher_list
from mamori.incidents.alerts.routing import RouteNode, matching_nodes


@pytest.mark.parametrize(
    ("text", "labels", "expected"),
    [
        ('service="jobs-api"', {"service": "jobs-api"}, True),
        ("service=jobs-api", {"service": "jobs-api"}, True),
        ('service!="jobs-api"', {"service": "jobs-web"}, True),
        ('service!="jobs-api"', {}, True),
        ('service=""', {}, True),
        ('service=~"jobs-(web|api)"', {"service": "jobs-web"}, True),
        ('service=~"jobs-(web|api)"', {"service": "xjobs-web"}, False),
        ('service=~"jobs-(web|api)"', {"service": "jobs-webx"}, False),
        ('service=~"a|b"', {"service": "ab"}, False),
        ('alertname!~"Disk.*"', {"alertname": "DiskFull"}, False),
        ('alertname!~"Disk.*"', {"alertname": "HighLatency"}, True),
        ('msg="say \\"hi\\""', {"msg": 'say "hi"'}, True),
        (' env = "prod" ', {"env": "prod"}, True),
    ],
)
def test_matcher_semantics_follow_alertmanager(text: str, labels: dict[str, str], expected: bool) -> None:
    assert parse_matcher(text).matches(labels) is expected


@pytest.mark.parametrize("text", ["=x", "service", 'a=~"("', 'a="unclosed', "1abc=x"])
def test_malformed_matchers_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="matcher"):
        parse_matcher(text)


def test_matcher_renders_back_quoted() -> None:
    assert str(parse_matcher('a=~"x.*"')) == 'a=~"x.*"'


# Each expectation below was checked against amtool 0.25 (Debian prometheus-alertmanager);
# test_matchers_differential.py repeats the comparison on generated cases.


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ('a="bad\\q"', "bad\\q"),
        ('a=\\"x', '"x'),
        ("a=x\\", "x\\"),
        ('a="x\\ny"', "x\ny"),
        ("a=x\\ny", "x\ny"),
        ('a:b="x"', "x"),
        ('\va="x"', None),
        ('a="x"y', None),
        ('a="x" y', None),
        ("a=x,y", "x,y"),
    ],
)
def test_matcher_values_unescape_as_alertmanager_does(text: str, value: str | None) -> None:
    if value is None:
        with pytest.raises(ValueError, match="matcher"):
            parse_matcher(text)
    else:
        assert parse_matcher(text).value == value


@pytest.mark.parametrize(
    ("regex", "value", "expected"),
    [
        ("\\w", "é", False),
        ("\\d", "٣", False),
        ("\\s", "\v", False),
        ("[[:space:]]", "\v", True),
        ("\\S", "\x85", True),
        ("[[:alpha:]]+", "abc", True),
        ("\\pL+", "éß", True),
        ("\\Q.*\\E", ".*", True),
        ("\\Q.*\\E", "ab", False),
        ("(?U)x*", "xx", True),
        ("x\\z", "x", True),
        ("(?i)k", "\u212a", True),
        ("x$\n", "x\n", False),
        ("x)|(y", "xzzz", True),
        ("x)|(y", "zzy", True),
        ("x)|(y", "zxz", False),
    ],
)
def test_regexes_are_re2_wrapped_in_anchors_as_alertmanager_does(regex: str, value: str, expected: bool) -> None:
    assert new_matcher("a", "=~", regex).matches({"a": value}) is expected


@pytest.mark.parametrize(
    "regex", ["\\C", "(?<n>x)", "(?P<é>x)", "(?=x)", "\\1", "x{1001}", "(x{100}){11}", "x++", "x**", "\\Z", "[[:foo:]]"]
)
def test_regexes_go_refuses_are_refused(regex: str) -> None:
    with pytest.raises(ValueError, match="bad regex"):
        parse_matcher(f'a=~"{regex}"')


@pytest.mark.parametrize("regex", ["\\Q\\C\\E", "[(?<]", "(?P<n_1>x)", "[]\\]x]", "[[:alpha:](?<]"])
def test_lookalikes_of_what_go_refuses_are_accepted(regex: str) -> None:
    new_matcher("a", "=~", regex)


@pytest.mark.parametrize(
    ("line", "parsed"),
    [
        ('{a="b", c=~"d|e"}', ['a="b"', 'c=~"d|e"']),
        ('a="x,y"', ['a="x,y"']),
        ('a="b",', ['a="b"']),
        ('{a="b"', ['a="b"']),
        ('a="b"}', ['a="b"']),
        ("{}", []),
        ("", []),
        (' \u2003a="b"\u2003 ', ['a="b"']),
        ('a="x\\",y"', ['a="x\\",y"']),
        ('{a="b",,c="d"}', None),
        (',a="b"', None),
        ("a=x,y", None),
        ('a="b"}}', None),
    ],
)
def test_matcher_lists_split_as_alertmanager_config_does(line: str, parsed: list[str] | None) -> None:
    if parsed is None:
        with pytest.raises(ValueError, match="matcher"):
            parse_matcher_list(line)
    else:
        assert [str(m) for m in parse_matcher_list(line)] == parsed


def test_nested_routes_match_depth_first_and_continue_lets_siblings_match() -> None:
    def node(key: str, matcher: str, *children: RouteNode, cont: bool = False) -> RouteNode:
        return RouteNode(matchers=(parse_matcher(matcher),), continue_=cont, routes=children, key=key)

    root = RouteNode(
        key="root",
        routes=(
            node("db", 'team="db"', node("db-page", 'severity="page"'), cont=True),
            node("any-page", 'severity="page"'),
            node("late", 'team=~".+"'),
        ),
    )
    keys = lambda labels: [n.key for n in matching_nodes(root, labels)]  # noqa: E731
    assert keys({"team": "db", "severity": "page"}) == ["db-page", "any-page"]
    assert keys({"team": "db"}) == ["db", "late"]
    assert keys({"team": "web"}) == ["late"]
    assert keys({}) == ["root"]


def test_lone_surrogates_from_json_match_as_the_replacement_character() -> None:
    # json.loads('"\\ud800"') is a lone surrogate, which RE2 cannot read; Go's JSON decoder makes it U+FFFD.
    assert new_matcher("a", "=~", "x.").matches({"a": "x\ud800"})
    assert new_matcher("a", "=~", "\ud800").matches({"a": "\ufffd"})
    assert not new_matcher("a", "!~", "x\ufffd").matches({"a": "x\udfff"})


@pytest.mark.timeout(20)
def test_regex_matching_takes_linear_time_on_patterns_that_make_backtracking_explode() -> None:
    # A backtracking engine tries every split of the a's (about 1.6^n ways); RE2 reads the value once.
    matcher = new_matcher("a", "=~", "(a|aa)*b")
    assert not matcher.matches({"a": "a" * 5000})
    assert matcher.matches({"a": "a" * 5000 + "b"})


def test_a_route_matcher_line_may_hold_a_list_as_in_alertmanager() -> None:
    from mamori.incidents.alerts.matchers import parse_matchers
    from mamori.incidents.kinds.documents import Route

    route = Route.model_validate({"matchers": ['{service="api", severity=~"crit.*"}', "team=web"]})
    matchers = parse_matchers(route.matchers)
    assert [(m.name, m.value) for m in matchers] == [("service", "api"), ("severity", "crit.*"), ("team", "web")]
    with pytest.raises(ValueError, match="matchers"):
        Route.model_validate({"matchers": ["a=x,y"]})
