"""Differential tests: Mamori's orderings against each ecosystem's own implementation where one runs here."""

from __future__ import annotations

import itertools
import json
import random
import subprocess
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from packaging.version import Version

from mamori.vulns import versions
from tests.support import IN_CI, require_binary
from tests.vulns import maven_reference
from tests.vulns.test_version_conformance import php_version_compare

PAIRS = 3000


def _sign(n: int) -> int:
    return (n > 0) - (n < 0)


_pep440 = st.builds(
    lambda epoch, release, pre, post, dev, local: (
        (f"{epoch}!" if epoch else "")
        + ".".join(str(r) for r in release)
        + (f"{pre[0]}{pre[1]}" if pre else "")
        + (f".post{post}" if post is not None else "")
        + (f".dev{dev}" if dev is not None else "")
        + (f"+{local}" if local else "")
    ),
    st.integers(0, 2),
    st.lists(st.integers(0, 12), min_size=1, max_size=4),
    st.none() | st.tuples(st.sampled_from(["a", "b", "rc", "alpha", "beta", "c", "pre", "preview"]), st.integers(0, 3)),
    st.none() | st.integers(0, 3),
    st.none() | st.integers(0, 3),
    st.none() | st.sampled_from(["local", "1", "abc.2", "0.a", "7"]),
)


@settings(max_examples=600, deadline=None)
@given(_pep440, _pep440)
def test_pypi_order_agrees_with_packaging(a: str, b: str) -> None:
    want = _sign((Version(a) > Version(b)) - (Version(a) < Version(b)))
    assert versions.compare("PyPI", a, b) == want


def _gem_version(rng: random.Random) -> str:
    parts = []
    for _ in range(rng.randint(1, 5)):
        parts.append(rng.choice([str(rng.randint(0, 12)), "0", rng.choice(["a", "b", "pre", "rc", "alpha", "beta"])]))
    if parts[0].isalpha():
        parts[0] = str(rng.randint(0, 3))
    text = ".".join(parts)
    if rng.random() < 0.2 and "." in text[2:]:  # letters glued to digits after the first segment, e.g. 1.0a10
        head, _, tail = text.partition(".")
        text = head + "." + tail.replace(".a", "a", 1)
    if rng.random() < 0.1:
        text += "-" + rng.choice(["1", "beta", "rc2"])
    return text


def _pairs(make: object, seed: int) -> list[tuple[str, str]]:
    rng = random.Random(seed)
    gen = make  # a callable taking the Random
    return [(gen(rng), gen(rng)) for _ in range(PAIRS)]  # type: ignore[operator]


def test_rubygems_order_agrees_with_gem_version() -> None:
    ruby = require_binary("ruby")
    pairs = _pairs(_gem_version, 6)
    script = "STDIN.each_line { |l| a, b = l.split(' '); puts(Gem::Version.new(a) <=> Gem::Version.new(b)) }"
    out = subprocess.run(
        [ruby, "-e", script],
        input="\n".join(f"{a} {b}" for a, b in pairs) + "\n",
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout.split()
    assert len(out) == len(pairs)
    wrong = [
        (a, b, int(w), versions.compare("RubyGems", a, b))
        for (a, b), w in zip(pairs, out, strict=True)
        if int(w) != versions.compare("RubyGems", a, b)
    ]
    assert not wrong, wrong[:20]


def _semver(rng: random.Random) -> str:
    text = ".".join(str(rng.choice([0, 1, 2, 10, rng.randint(0, 30)])) for _ in range(3))
    if rng.random() < 0.6:
        idents = [
            rng.choice(["alpha", "beta", "rc", "0", "1", "11", "2", "x-y", "Beta", "a1"])
            for _ in range(rng.randint(1, 3))
        ]
        text += "-" + ".".join(idents)
    if rng.random() < 0.2:
        text += "+build." + str(rng.randint(0, 9))
    return text


@pytest.fixture(scope="module")
def npm_semver(tmp_path_factory: pytest.TempPathFactory) -> Path:
    node, npm = require_binary("node"), require_binary("npm")
    del node
    prefix = tmp_path_factory.mktemp("npm-semver")
    done = subprocess.run(
        [npm, "install", "--no-save", "--no-audit", "--no-fund", "--prefix", str(prefix), "semver@7"],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    if done.returncode != 0:
        if IN_CI:
            pytest.fail(f"npm install semver failed: {done.stderr[-500:]}")
        pytest.skip("npm registry unreachable: cannot install semver")
    return prefix / "node_modules" / "semver"


def test_npm_order_agrees_with_node_semver(npm_semver: Path) -> None:
    node = require_binary("node")
    pairs = _pairs(_semver, 7)
    script = (
        f"const s=require({json.dumps(str(npm_semver))});"
        "const p=JSON.parse(require('fs').readFileSync(0,'utf8'));"
        "console.log(JSON.stringify(p.map(([a,b])=>s.compare(a,b))))"
    )
    out = json.loads(
        subprocess.run(
            [node, "-e", script], input=json.dumps(pairs), capture_output=True, text=True, check=True, timeout=60
        ).stdout
    )
    assert len(out) == len(pairs)
    wrong = [(a, b, w) for (a, b), w in zip(pairs, out, strict=True) if versions.compare("npm", a, b) != w]
    assert not wrong, wrong[:20]


_MAVEN_TOKENS = ["0", "1", "2", "10", "01", "alpha", "a", "beta", "b", "m", "milestone", "rc", "cr", "snapshot"]
_MAVEN_TOKENS += ["ga", "final", "release", "sp", "foo", "x", "", "00", "SNAPSHOT", "RC", "Final", "abc"]


def _maven_version(rng: random.Random) -> str:
    text = str(rng.randint(0, 3))
    for _ in range(rng.randint(0, 4)):
        text += rng.choice([".", "-", "", "."]) + rng.choice(_MAVEN_TOKENS)
    return text


def test_maven_order_agrees_with_maven_comparable_version() -> None:
    rng = random.Random(8)
    chain = [_maven_version(rng) for _ in range(PAIRS)]
    want = maven_reference.compare_chain(chain)
    assert len(want) == len(chain) - 1
    wrong = [
        (a, b, w, versions.compare("Maven", a, b))
        for (a, b), w in zip(itertools.pairwise(chain), want, strict=True)
        if versions.compare("Maven", a, b) != w
    ]
    assert not wrong, f"{len(wrong)} disagreements, first: {wrong[:15]}"


def _php_version(rng: random.Random) -> str:
    text = ".".join(str(rng.choice([0, 1, 2, 10, rng.randint(0, 20)])) for _ in range(rng.randint(1, 4)))
    if rng.random() < 0.5:
        sep = rng.choice(["-", ".", "", "_", "+"])
        text += sep + rng.choice(["alpha", "beta", "RC", "rc", "dev", "pl", "p", "a", "b", "patch", "foo", "#"])
        if rng.random() < 0.6:
            text += rng.choice(["", "."]) + str(rng.randint(0, 12))
    return text


def test_packagist_order_agrees_with_php_version_compare() -> None:
    pairs = _pairs(_php_version, 9)
    out = php_version_compare(pairs)
    wrong = [(a, b, w, versions.compare("Packagist", a, b)) for (a, b), w in zip(pairs, out, strict=True)]
    wrong = [row for row in wrong if row[2] != row[3]]
    assert not wrong, f"{len(wrong)} disagreements, first: {wrong[:15]}"


def _debian_version(rng: random.Random) -> str:
    def run() -> str:
        pieces = [rng.choice(["0", "1", "2", "10", "01", str(rng.randint(0, 99))])]
        for _ in range(rng.randint(0, 3)):
            pieces.append(
                rng.choice([".", "+", "~", "", "."]) + rng.choice(["0", "1", "a", "b", "rc1", "dfsg", "9", "Z"])
            )
        return "".join(pieces)

    text = run()
    if rng.random() < 0.3:
        text = f"{rng.randint(0, 2)}:{text}"
    if rng.random() < 0.6:
        text += "-" + rng.choice(["1", "0ubuntu1", "2~bpo1", "1+deb12u1", "10", "1.1", "a"])
    return text


def test_debian_order_agrees_with_dpkg() -> None:
    dpkg = require_binary("dpkg")
    pairs = _pairs(_debian_version, 10)[:1500]
    script = (
        'while read -r a b; do if "$0" --compare-versions "$a" lt "$b"; then echo -1; '
        'elif "$0" --compare-versions "$a" eq "$b"; then echo 0; else echo 1; fi; done'
    )
    out = subprocess.run(
        ["sh", "-c", script, dpkg],
        input="\n".join(f"{a} {b}" for a, b in pairs) + "\n",
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    ).stdout.split()
    assert len(out) == len(pairs)
    wrong = [(a, b, int(w), versions.compare("Debian:12", a, b)) for (a, b), w in zip(pairs, out, strict=True)]
    wrong = [row for row in wrong if row[2] != row[3]]
    assert not wrong, f"{len(wrong)} disagreements, first: {wrong[:15]}"


_GO_PROGRAM = """package main

import (
	"encoding/json"
	"fmt"
	"os"

	"golang.org/x/mod/semver"
)

func main() {
	var pairs [][2]string
	if err := json.NewDecoder(os.Stdin).Decode(&pairs); err != nil {
		panic(err)
	}
	out := make([]int, len(pairs))
	for i, p := range pairs {
		out[i] = semver.Compare(p[0], p[1])
	}
	b, _ := json.Marshal(out)
	fmt.Println(string(b))
}
"""
GOPATH = Path("/usr/share/gocode")


def test_go_order_agrees_with_x_mod_semver(tmp_path: Path) -> None:
    go = require_binary("go")
    if not (GOPATH / "src/golang.org/x/mod/semver").is_dir():
        if IN_CI:
            pytest.fail("golang.org/x/mod missing; .ci/run installs golang-golang-x-mod-dev")
        pytest.skip("golang.org/x/mod is not installed (Debian golang-golang-x-mod-dev)")
    (tmp_path / "main.go").write_text(_GO_PROGRAM)
    pairs = _pairs(_semver, 11)
    env = {"GO111MODULE": "off", "GOPATH": str(GOPATH), "GOCACHE": str(tmp_path / "cache"), "PATH": "/usr/bin:/bin"}
    env["HOME"] = str(tmp_path)
    done = subprocess.run(
        [go, "run", "main.go"],
        input=json.dumps([[f"v{a}", f"v{b}"] for a, b in pairs]),
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
        cwd=tmp_path,
        env=env,
    )
    out = json.loads(done.stdout)
    assert len(out) == len(pairs)
    wrong = [(a, b, w) for (a, b), w in zip(pairs, out, strict=True) if versions.compare("Go", a, b) != w]
    assert not wrong, f"{len(wrong)} disagreements, first: {wrong[:15]}"


_ANY_VERSION = st.text(
    alphabet=st.sampled_from([*"0123456789.-+_~:abcrvV#", "\u00b2", "\u0661", "\uff11", "\u2167", "\u0130", "K"]),
    max_size=12,
)


@settings(max_examples=400, deadline=None)
@given(st.sampled_from(sorted(versions.SUPPORTED)), _ANY_VERSION, _ANY_VERSION)
def test_any_text_orders_without_crashing_in_every_ecosystem(ecosystem: str, a: str, b: str) -> None:
    """Superscripts, other scripts' digits and odd case folds are not numbers; no input raises."""
    got = versions.compare(ecosystem, a, b)
    assert got in (-1, 0, 1)
    assert versions.compare(ecosystem, a, a) == 0 or ecosystem == "Packagist"  # PHP: "1.#" < "1.#"
