"""One small error hierarchy, mapped once to HTTP status codes and CLI exit codes at the edges."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input: where (a field path) and what was expected."""

    loc: str
    msg: str
    file: str | None = None
    document: str | None = None

    def render(self) -> str:
        where = ": ".join(p for p in (self.file, self.document, self.loc) if p)
        return f"{where}: {self.msg}" if where else self.msg


class MamoriError(Exception):
    """Base of every error a user may see. `status` is the HTTP code, `exit_code` the CLI's."""

    status: int = 500
    exit_code: int = 1
    title: str = "Internal error"

    def __init__(self, detail: str, *, problems: list[Problem] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.problems: list[Problem] = list(problems or [])

    def __str__(self) -> str:
        if not self.problems:
            return self.detail
        lines = [self.detail, *("  - " + p.render() for p in self.problems)]
        return "\n".join(lines)


class InvalidInput(MamoriError):
    """The input could not be understood: malformed JSON/YAML, a bad payload, a bad argument."""

    status = 400
    exit_code = 2
    title = "Bad request"


class ValidationFailed(MamoriError):
    """The input was understood but breaks a rule: an unknown field, a wrong type, a bad reference."""

    status = 422
    exit_code = 2
    title = "Validation failed"


class Unauthenticated(MamoriError):
    status = 401
    exit_code = 3
    title = "Unauthenticated"


class Forbidden(MamoriError):
    status = 403
    exit_code = 3
    title = "Forbidden"


class NotFound(MamoriError):
    status = 404
    exit_code = 4
    title = "Not found"


class Conflict(MamoriError):
    status = 409
    exit_code = 5
    title = "Conflict"


class PayloadTooLarge(MamoriError):
    status = 413
    exit_code = 2
    title = "Payload too large"


class Locked(MamoriError):
    """A gate is closed (for example a release freeze)."""

    status = 423
    exit_code = 1
    title = "Locked"


class RateLimited(MamoriError):
    status = 429
    exit_code = 6
    title = "Too many requests"


class Unavailable(MamoriError):
    """A dependency (database, upstream API) cannot be reached."""

    status = 503
    exit_code = 7
    title = "Service unavailable"


@dataclass
class ProblemCollector:
    """Gathers problems so that a validator reports all of them at once, not the first only."""

    problems: list[Problem] = field(default_factory=list)

    def add(self, loc: str, msg: str, *, file: str | None = None, document: str | None = None) -> None:
        self.problems.append(Problem(loc=loc, msg=msg, file=file, document=document))

    def raise_if_any(self, detail: str) -> None:
        if self.problems:
            raise ValidationFailed(detail, problems=self.problems)
