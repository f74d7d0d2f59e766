from __future__ import annotations

import pytest

from mamori.incidents.alerts.matchers import parse_matcher


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


@pytest.mark.parametrize("text", ["=x", "service", 'a=~"("', 'a="unclosed', "1abc=x", 'a="bad\\q"'])
def test_malformed_matchers_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="matcher"):
        parse_matcher(text)


def test_matcher_renders_back_quoted() -> None:
    assert str(parse_matcher('a=~"x.*"')) == 'a=~"x.*"'
