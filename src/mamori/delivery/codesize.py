"""Mamori counting a checkout itself: code, comment and blank lines per language, the language told by the
file's extension (or name: Dockerfile, Makefile), with cloc's language names so that the figures line up with
`cloc --json`. In a git checkout the files are `git ls-files` (tracked, plus untracked ones .gitignore does not
exclude); elsewhere every file under the folder except `.git`. Binary files (a NUL byte in the first 8 KiB),
files over 4 MiB and files whose content is the same as one already counted are skipped, as cloc does.

A line is blank when only whitespace, a comment when what is left outside comments is empty, else code.
Comments are full-line comments (`#`, `//`, `--` by language) and block comments (`/* */`, `<!-- -->`, Ruby's
`=begin`/`=end`, and Python's triple-quoted strings, which cloc counts as comments wherever they open, after
code too); a first line `#!` is code, as cloc counts it. A comment marker inside a string literal is not told
apart (cloc does not either, in most languages)."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from mamori.delivery.parsers.codestats import Language, Size

MAX_BYTES = 4 * 1024 * 1024


@dataclass(frozen=True)
class Syntax:
    line: tuple[str, ...] = ()
    blocks: tuple[tuple[str, str], ...] = ()


HASH = Syntax(line=("#",))
C = Syntax(line=("//",), blocks=(("/*", "*/"),))
MARKUP = Syntax(blocks=(("<!--", "-->"),))
NONE = Syntax()
SYNTAX: dict[str, Syntax] = {
    "Python": Syntax(line=("#",), blocks=(('"""', '"""'), ("'''", "'''"))),
    "Ruby": Syntax(line=("#",), blocks=(("=begin", "=end"),)),
    "Bourne Shell": HASH,
    "Bourne Again Shell": HASH,
    "YAML": HASH,
    "TOML": HASH,
    "make": HASH,
    "Dockerfile": HASH,
    "Perl": HASH,
    "JavaScript": C,
    "TypeScript": C,
    "Go": C,
    "Java": C,
    "Kotlin": C,
    "C": C,
    "C/C++ Header": C,
    "C++": C,
    "C#": C,
    "Rust": C,
    "Swift": C,
    "Scala": C,
    "SCSS": C,
    "PHP": Syntax(line=("//", "#"), blocks=(("/*", "*/"),)),
    "CSS": Syntax(blocks=(("/*", "*/"),)),
    "SQL": Syntax(line=("--",), blocks=(("/*", "*/"),)),
    "Lua": Syntax(line=("--",)),
    "HTML": MARKUP,
    "XML": MARKUP,
    "Markdown": MARKUP,
    "JSON": NONE,
}
EXTENSIONS: dict[str, str] = {
    ".py": "Python", ".pyi": "Python", ".rb": "Ruby", ".rake": "Ruby", ".sh": "Bourne Shell",
    ".bash": "Bourne Again Shell", ".yml": "YAML", ".yaml": "YAML", ".toml": "TOML", ".mk": "make",
    ".pl": "Perl", ".pm": "Perl", ".js": "JavaScript", ".mjs": "JavaScript", ".cjs": "JavaScript",
    ".jsx": "JavaScript", ".ts": "TypeScript", ".tsx": "TypeScript", ".mts": "TypeScript", ".go": "Go",
    ".java": "Java", ".kt": "Kotlin", ".kts": "Kotlin", ".c": "C", ".h": "C/C++ Header", ".hpp": "C/C++ Header",
    ".hh": "C/C++ Header", ".cpp": "C++", ".cc": "C++", ".cxx": "C++", ".cs": "C#", ".rs": "Rust",
    ".swift": "Swift", ".scala": "Scala", ".scss": "SCSS", ".php": "PHP", ".css": "CSS", ".sql": "SQL",
    ".lua": "Lua", ".html": "HTML", ".htm": "HTML", ".xml": "XML", ".md": "Markdown", ".json": "JSON",
}  # fmt: skip
NAMES = {"Dockerfile": "Dockerfile", "Makefile": "make", "makefile": "make", "GNUmakefile": "make"}


def language_of(path: str) -> str | None:
    name = path.rsplit("/", 1)[-1]
    if name in NAMES:
        return NAMES[name]
    dot = name.rfind(".")
    return EXTENSIONS.get(name[dot:].lower()) if dot > 0 else None


def count_lines(text: str, syntax: Syntax) -> Language:
    """Code, comment and blank lines of one file's text (pure)."""
    out = Language(files=1)
    closing: str | None = None  # the end marker of the block comment we are in
    for number, raw in enumerate(text.splitlines()):
        if not raw.strip():
            out.blanks += 1
            continue
        if number == 0 and raw.startswith("#!"):
            out.code += 1  # a shebang is code to cloc, in every language
            continue
        code, rest = False, raw
        while rest:
            if closing is not None:
                end = rest.find(closing)
                if end < 0:
                    rest = ""
                    break
                rest, closing = rest[end + len(closing) :], None
                continue
            stripped = rest.lstrip()
            if any(stripped.startswith(t) for t in syntax.line):
                break
            opens = [(i, start, stop) for start, stop in syntax.blocks if (i := rest.find(start)) >= 0]
            if not opens:
                code = code or bool(stripped)
                break
            i, start, stop = min(opens)
            code = code or bool(rest[:i].strip())
            rest, closing = rest[i + len(start) :], stop
        if code:
            out.code += 1
        else:
            out.comments += 1
    return out


def _git(root: Path, *args: str) -> bytes | None:
    """git's output in `root`, or None when git is missing or `root` is no git checkout."""
    git = shutil.which("git")
    if git is None:
        return None
    try:  # a fixed argument list, no shell: the folder is one argument
        done = subprocess.run([git, "-C", str(root), *args], capture_output=True, check=True, timeout=120)  # noqa: S603
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout


def list_files(root: Path) -> list[Path]:
    """The files to count: `git ls-files` in a git checkout (honouring .gitignore), else a walk."""
    listed = _git(root, "ls-files", "-z", "--cached", "--others", "--exclude-standard")
    if listed is not None:
        return sorted({root / name for name in listed.decode("utf-8", "surrogateescape").split("\0") if name})
    found: list[Path] = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d != ".git")
        found += [Path(folder) / f for f in files]
    return sorted(found)


def count_checkout(root: Path) -> Size:
    """Lines per language of every file of a checkout whose language is known."""
    if not root.is_dir():
        raise FileNotFoundError(f"{root}: not a folder")
    size = Size("mamori")
    seen: set[bytes] = set()
    for path in list_files(root):
        language = language_of(path.as_posix())
        if language is None or path.is_symlink() or not path.is_file() or path.stat().st_size > MAX_BYTES:
            continue
        data = path.read_bytes()
        digest = hashlib.sha256(data).digest()
        if b"\0" in data[:8192] or digest in seen:
            continue
        seen.add(digest)
        counted = count_lines(data.decode("utf-8", "replace"), SYNTAX[language])
        total = size.languages.setdefault(language, Language())
        total.files += 1
        total.code += counted.code
        total.comments += counted.comments
        total.blanks += counted.blanks
    return size


def head_sha(root: Path) -> str | None:
    out = _git(root, "rev-parse", "HEAD")
    return out.decode().strip() or None if out is not None else None
