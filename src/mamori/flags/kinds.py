"""The FlagSet kind (mamori.dev/v1): one environment's flagd document, inline or read from a file beside it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from mamori.core.config_files import MAX_CONFIG_FILE_BYTES, PlainLoader
from mamori.core.errors import Problem, ValidationFailed
from mamori.core.manifest import MAMORI_API, ApplyContext, Bundle, Document, KindDef
from mamori.flags import flagd_format, service
from mamori.flags.schemas import FlagSetSpec

KIND = "FlagSet"


def read_flagd_file(path: Path) -> Any:
    """A flagd document from a JSON or YAML file; ValueError with a clear message when unreadable."""
    try:
        if path.stat().st_size > MAX_CONFIG_FILE_BYTES:
            raise ValueError(f"{path}: file is larger than {MAX_CONFIG_FILE_BYTES} bytes")
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise ValueError(f"{path}: no such file") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path}: cannot read file: {exc}") from exc
    try:
        # YAML as config files are read: timestamps stay the text written (a date is a string variant)
        return json.loads(text) if path.suffix == ".json" else yaml.load(text, Loader=PlainLoader)  # noqa: S506 - a SafeLoader
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}") from exc
    except yaml.YAMLError as exc:
        raise ValueError(f"{path}: invalid YAML: {exc}") from exc


def prepare(doc: Document) -> dict[str, Any]:
    spec = dict(doc.spec)
    has_file, has_inline = "file" in spec, "flagd" in spec
    if has_file == has_inline:
        msg = (
            "give either file or flagd, not both"
            if has_file
            else ("needs file (a flagd file beside this document) or flagd (the flagd document inline)")
        )
        raise ValidationFailed(msg, problems=[doc.problem("spec", msg)])
    if has_file:
        try:
            path = doc.beside(spec["file"])
        except ValueError as exc:
            raise ValidationFailed(f"spec.file {exc}", problems=[doc.problem("spec.file", str(exc))]) from None
        try:
            document = read_flagd_file(path)
        except ValueError as exc:
            raise ValidationFailed(str(exc), problems=[doc.problem("spec.file", str(exc))]) from exc
        problems = service.check_flagd(document, file=str(path), ref=f"flagd file of {doc.ref}")
    else:
        document = spec["flagd"]
        problems = service.check_flagd(document, loc_prefix="spec.flagd.", file=doc.file, ref=doc.ref)
    if problems:
        raise ValidationFailed(f"FlagSet {doc.name!r} has {len(problems)} problem(s)", problems=problems)
    spec["flagd"] = flagd_format.normalize(document)
    return spec


def check(doc: Document, bundle: Bundle) -> list[Problem]:
    mine = doc.model.environment
    for other in bundle.of_kind(KIND, MAMORI_API):
        if other is not doc and other.model.environment == mine and other.name < doc.name:
            return [
                doc.problem(
                    "spec.environment",
                    f"environment {mine!r} already has FlagSet {other.name!r}; an environment serves one flag set",
                )
            ]
    return []


def apply(ctx: ApplyContext, doc: Document) -> None:
    spec: FlagSetSpec = doc.model
    service.store_flag_set(ctx.session, name=doc.name, spec=spec, now=ctx.now, actor=ctx.actor)


def delete(ctx: ApplyContext, name: str) -> None:
    service.delete_flag_set(ctx.session, name=name)


FLAG_SET_KIND = KindDef(
    api_version=MAMORI_API,
    kind=KIND,
    spec_model=FlagSetSpec,
    order=200,
    prepare=prepare,
    check=check,
    apply=apply,
    delete=delete,
)

KINDS = [FLAG_SET_KIND]
