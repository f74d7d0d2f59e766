"""Build internals: BuildKit's `--progress=rawjson` stream (one SolveStatus JSON object per line) as steps
with start, end and whether the cache was hit; `docker image inspect` and registry (OCI / Docker v2) manifests
as image and layer sizes (pure; bytes in).

A vertex appears several times in a stream (when it starts, when it ends); its updates are merged by digest.
`[internal]` vertices (loading the Dockerfile, the context, metadata) are kept and marked internal.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from mamori.delivery.records import parse_time


class BuildKitError(ValueError):
    """The stream or document cannot be read; the message says the line or field."""


@dataclass
class Vertex:
    digest: str
    name: str
    started_at: datetime | None = None
    finished_at: datetime | None = None
    cached: bool = False
    error: str | None = None

    @property
    def internal(self) -> bool:
        return self.name.startswith("[internal]")

    @property
    def seconds(self) -> float | None:
        if self.started_at is None or self.finished_at is None:
            return None
        return (self.finished_at - self.started_at).total_seconds()


def _time(value: Any, where: str) -> datetime | None:
    if value in (None, ""):
        return None
    try:
        return parse_time(value)
    except ValueError as exc:
        raise BuildKitError(f"{where}: {exc}") from None


def rawjson(data: bytes) -> list[Vertex]:
    """The vertices of a rawjson stream, in the order they first appeared."""
    vertices: dict[str, Vertex] = {}
    for number, line in enumerate(data.decode("utf-8", errors="replace").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            status = json.loads(line)
        except json.JSONDecodeError as exc:
            raise BuildKitError(f"line {number}: not JSON ({exc.msg})") from None
        if not isinstance(status, dict):
            raise BuildKitError(f"line {number}: expected a JSON object (a SolveStatus)")
        for i, v in enumerate(status.get("vertexes") or []):
            where = f"line {number}: vertexes[{i}]"
            if not isinstance(v, dict) or not isinstance(v.get("digest"), str):
                raise BuildKitError(f"{where}: a vertex needs its digest")
            vertex = vertices.setdefault(
                v["digest"], Vertex(digest=v["digest"], name=str(v.get("name") or v["digest"]))
            )
            vertex.name = str(v.get("name") or vertex.name)
            vertex.started_at = _time(v.get("started"), f"{where}.started") or vertex.started_at
            vertex.finished_at = _time(v.get("completed"), f"{where}.completed") or vertex.finished_at
            vertex.cached = vertex.cached or bool(v.get("cached"))
            vertex.error = v.get("error") or vertex.error
    return list(vertices.values())


@dataclass
class Image:
    ref: str
    digest: str | None
    size: int
    layers: list[int] = field(default_factory=list)


def image_inspect(data: bytes) -> list[Image]:
    """`docker image inspect` output: an array of images with Id, RepoTags, Size and RootFS.Layers (whose
    sizes the inspect does not give: layer sizes come from the manifest)."""
    try:
        doc = json.loads(data)
    except json.JSONDecodeError as exc:
        raise BuildKitError(f"not JSON: {exc.msg}") from None
    if not isinstance(doc, list):
        raise BuildKitError("docker image inspect prints a JSON array of images")
    out = []
    for i, item in enumerate(doc):
        if not isinstance(item, dict) or not isinstance(item.get("Size"), int):
            raise BuildKitError(f"[{i}].Size: expected the image size in bytes")
        tags = item.get("RepoTags") or []
        out.append(Image(ref=str(tags[0]) if tags else str(item.get("Id")), digest=item.get("Id"), size=item["Size"]))
    return out


def manifest(data: bytes, *, ref: str) -> Image:
    """An OCI image manifest or Docker v2 schema 2 manifest: the layer sizes (compressed, as pushed)."""
    try:
        doc = json.loads(data)
    except json.JSONDecodeError as exc:
        raise BuildKitError(f"not JSON: {exc.msg}") from None
    layers = doc.get("layers") if isinstance(doc, dict) else None
    if not isinstance(layers, list):
        kind = doc.get("mediaType") if isinstance(doc, dict) else None
        raise BuildKitError(f"layers: expected a list (an image index {kind!r} names manifests: pick one platform's)")
    sizes = []
    for i, layer in enumerate(layers):
        if not isinstance(layer, dict) or not isinstance(layer.get("size"), int):
            raise BuildKitError(f"layers[{i}].size: expected bytes")
        sizes.append(layer["size"])
    config = doc.get("config") if isinstance(doc.get("config"), dict) else {}
    return Image(ref=ref, digest=config.get("digest"), size=sum(sizes) + int(config.get("size") or 0), layers=sizes)
