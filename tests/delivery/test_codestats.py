"""Code size from cloc and tokei, offences from RuboCop and ESLint: per language and severity, through the
API and on the service page; unreadable output is refused by field."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from mamori.core.runtime import Runtime
from mamori.delivery.parsers import codestats
from tests.conftest import issue_token
from tests.web.conftest import Login

# Shapes as the tools print them (cloc --json, tokei --output json, rubocop --format json, eslint --format json)
CLOC = {
    "header": {"cloc_version": "2.00", "n_files": 12},
    "Ruby": {"nFiles": 9, "blank": 120, "comment": 40, "code": 1500},
    "JavaScript": {"nFiles": 3, "blank": 30, "comment": 5, "code": 420},
    "SUM": {"blank": 150, "comment": 45, "code": 1920, "nFiles": 12},
}
TOKEI = {
    "Ruby": {
        "blanks": 120,
        "code": 1500,
        "comments": 40,
        "reports": [{"name": "a.rb"}, {"name": "b.rb"}],
        "inaccurate": False,
    },
    "Total": {"blanks": 120, "code": 1500, "comments": 40, "reports": [], "inaccurate": False},
}
RUBOCOP = {
    "metadata": {"rubocop_version": "1.60.0"},
    "summary": {"offense_count": 3, "target_file_count": 2},
    "files": [
        {
            "path": "app/a.rb",
            "offenses": [
                {"severity": "convention", "cop_name": "Style/StringLiterals"},
                {"severity": "warning", "cop_name": "Lint/UselessAssignment"},
            ],
        },
        {"path": "app/b.rb", "offenses": [{"severity": "convention", "cop_name": "Layout/LineLength"}]},
    ],
}
ESLINT = [
    {
        "filePath": "/src/a.js",
        "messages": [{"ruleId": "no-unused-vars", "severity": 2}, {"ruleId": "semi", "severity": 1}],
        "errorCount": 1,
        "warningCount": 1,
    },
    {"filePath": "/src/b.js", "messages": [], "errorCount": 0, "warningCount": 0},
]


def test_sizes_and_offences_are_counted_per_language_and_severity() -> None:
    cloc = codestats.cloc(json.dumps(CLOC).encode())
    assert {k: v.code for k, v in cloc.languages.items()} == {"Ruby": 1500, "JavaScript": 420}
    assert cloc.code == CLOC["SUM"]["code"]
    tokei = codestats.tokei(json.dumps(TOKEI).encode())
    assert tokei.languages["Ruby"].code == 1500 and tokei.languages["Ruby"].files == 2
    assert codestats.lint(json.dumps(RUBOCOP).encode(), "rubocop") == {"convention": 2, "warning": 1}
    assert sum(codestats.lint(json.dumps(RUBOCOP).encode(), "rubocop").values()) == RUBOCOP["summary"]["offense_count"]
    assert codestats.lint(json.dumps(ESLINT).encode(), "eslint") == {"error": 1, "warning": 1}


def test_unreadable_output_names_the_field() -> None:
    with pytest.raises(codestats.CodeStatsError, match=r"Ruby\.code"):
        codestats.cloc(b'{"header": {}, "Ruby": {"code": "many"}}')
    with pytest.raises(codestats.CodeStatsError, match=r"\[0\]\.messages\[0\]\.severity"):
        codestats.lint(b'[{"messages": [{"severity": 3}]}]', "eslint")
    with pytest.raises(codestats.CodeStatsError, match="unknown lint tool"):
        codestats.lint(b"[]", "pylint")


def test_the_api_stores_counts_and_the_page_shows_the_trend(client: TestClient, runtime: Runtime, login: Login) -> None:
    headers = {"Authorization": f"Bearer {issue_token(runtime, 'ingest', 'read')}"}
    for tool, doc in (("cloc", CLOC), ("rubocop", RUBOCOP), ("eslint", ESLINT)):
        response = client.post(
            f"/api/v1/delivery/code-stats?service=jobs-web&tool={tool}", content=json.dumps(doc), headers=headers
        )
        assert response.status_code == 201, response.text
    assert response.json()["counts"] == {"error": 1, "warning": 1}
    bad = client.post("/api/v1/delivery/code-stats?service=jobs-web&tool=tokei", content=b"[]", headers=headers)
    assert bad.status_code == 422
    login()
    page = client.get("/delivery/services/jobs-web")
    assert "Code lines (cloc): 1920" in page.text and "Offences (rubocop): 3" in page.text
