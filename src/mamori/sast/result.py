"""What every scanner format is parsed into: one scan's results, normalised and tool-independent."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Suppression:
    """A suppression the tool reported (SARIF `suppressions`, `# nosec`, `nosemgrep`, `brakeman.ignore`)."""

    kind: str
    """inSource | external"""
    status: str = "accepted"
    """accepted | underReview | rejected (only an accepted one hides the result)"""
    justification: str = ""


@dataclass(slots=True)
class Result:
    """One result of one tool, located in one file of the scanned repository."""

    tool: str
    rule_id: str
    message: str
    path: str
    start_line: int = 0
    end_line: int = 0
    start_column: int = 0
    rule_name: str = ""
    severity: str = "medium"
    """critical | high | medium | low | info (see `severity.normalise`)"""
    confidence: str = ""
    """high | medium | low, when the tool says"""
    cwes: list[str] = field(default_factory=list)
    """"CWE-89" style, from the rule's tags, taxa relationships or the tool's metadata"""
    snippet: str = ""
    line_hash: str | None = None
    """GitHub's primaryLocationLineHash (from the file, or computed from source at upload)"""
    context: str = ""
    """A few lines around the flagged one, from the checkout given at upload (the code context shown)"""
    context_start: int = 0
    """The line number of the first line of `context`"""
    text_hash: str = ""
    """A whitespace-blind hash of the flagged line's own text (from source, else the snippet's first line)"""
    tool_fingerprints: dict[str, str] = field(default_factory=dict)
    """The tool's own stable identities, by scheme (SARIF `fingerprints`, Brakeman, horusec vulnHash)"""
    deprecated_fingerprints: list[str] = field(default_factory=list)
    """Identities the tool used to give this result (horusec `deprecatedHashes`): matched, never emitted"""
    partial_fingerprints: dict[str, str] = field(default_factory=dict)
    suppressions: list[Suppression] = field(default_factory=list)
    baseline_state: str | None = None
    help_uri: str = ""
    where: str = ""
    """The JSON path of the result in its document, for error messages"""

    @property
    def suppressed(self) -> bool:
        return any(s.status == "accepted" for s in self.suppressions)

    @property
    def cwe(self) -> str | None:
        return self.cwes[0] if self.cwes else None


@dataclass
class ParsedScan:
    """One run of one tool (a SARIF file with several runs gives several)."""

    tool: str
    tool_version: str = ""
    results: list[Result] = field(default_factory=list)
    format: str = "sarif"
    category: str = ""
    """SARIF `automationDetails.id` (GitHub's category), else empty"""
    scanned_paths: list[str] | None = None
    """Files the tool scanned, when it says (partial scans close nothing outside them)"""


_TOOL_ALIASES = {"semgrep oss": "semgrep", "semgrep pro": "semgrep", "semgrep ce": "semgrep", "codeql": "codeql"}


def tool_slug(name: str) -> str:
    """One name per tool whatever its format calls it ("Semgrep OSS" in SARIF, "semgrep" in JSON)."""
    lowered = " ".join(name.strip().lower().split())
    return _TOOL_ALIASES.get(lowered, lowered.replace(" ", "-"))
