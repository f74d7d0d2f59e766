"""BuildKit rawjson streams become build steps with their cache hits; image inspect output and registry
manifests give image and layer sizes; bad documents say the line or field."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from mamori.core.runtime import Runtime
from mamori.delivery.models import DeliveryImage, DeliveryStep
from mamori.delivery.parsers import buildkit
from tests.conftest import issue_token


def _status(*vertexes: dict[str, object]) -> str:
    return json.dumps({"vertexes": list(vertexes), "statuses": [], "logs": []})


def _v(digest: str, name: str, started: str, completed: str | None = None, cached: bool = False) -> dict[str, object]:
    vertex: dict[str, object] = {"digest": digest, "name": name, "started": started, "cached": cached}
    if completed:
        vertex["completed"] = completed
    return vertex


LOAD = "[internal] load build definition from Dockerfile"
DAY = "2026-12-01T10:"
# The SolveStatus objects `--progress=rawjson` prints: a vertex is sent when it starts and again when it ends.
STREAM = "\n".join(
    [
        _status(_v("sha256:a", LOAD, DAY + "00:00.000000001Z")),
        _status(_v("sha256:a", LOAD, DAY + "00:00.000000001Z", DAY + "00:00.5Z")),
        _status(
            _v("sha256:b", "[2/4] RUN bundle install", DAY + "00:01Z", cached=True),
            _v("sha256:c", "[3/4] RUN yarn install", DAY + "00:01Z"),
        ),
        _status(_v("sha256:b", "[2/4] RUN bundle install", DAY + "00:01Z", DAY + "00:01.2Z", cached=True)),
        _status(_v("sha256:c", "[3/4] RUN yarn install", DAY + "00:01Z", DAY + "01:36Z")),
    ]
).encode()
INSPECT = json.dumps(
    [{"Id": "sha256:img", "RepoTags": ["jobs-web:1.2"], "Size": 734003200, "RootFS": {"Layers": ["sha256:l1"]}}]
).encode()
LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
MANIFEST = json.dumps(
    {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": "sha256:cfg", "size": 7023},
        "layers": [
            {"mediaType": LAYER, "digest": "sha256:l1", "size": 32654},
            {"mediaType": LAYER, "digest": "sha256:l2", "size": 16724},
        ],
    }
).encode()


def test_a_rawjson_stream_merges_each_vertex_and_keeps_cache_hits() -> None:
    vertices = buildkit.rawjson(STREAM)
    assert [v.name for v in vertices] == [LOAD, "[2/4] RUN bundle install", "[3/4] RUN yarn install"]
    assert [v.cached for v in vertices] == [False, True, False]
    assert vertices[0].internal and not vertices[2].internal
    assert vertices[2].seconds == 95.0 and vertices[1].seconds == pytest.approx(0.2)


def test_bad_streams_and_documents_name_the_line_or_field() -> None:
    with pytest.raises(buildkit.BuildKitError, match="line 2: not JSON"):
        buildkit.rawjson(b'{"vertexes": []}\n{oops\n')
    with pytest.raises(buildkit.BuildKitError, match=r"line 1: vertexes\[0\].started"):
        buildkit.rawjson(b'{"vertexes": [{"digest": "d", "started": "noon"}]}')
    with pytest.raises(buildkit.BuildKitError, match="image index"):
        buildkit.manifest(b'{"mediaType": "application/vnd.oci.image.index.v1+json", "manifests": []}', ref="x")
    with pytest.raises(buildkit.BuildKitError, match=r"\[0\].Size"):
        buildkit.image_inspect(b'[{"Id": "x"}]')


def test_sizes_from_inspect_and_manifest() -> None:
    (image,) = buildkit.image_inspect(INSPECT)
    assert (image.ref, image.size) == ("jobs-web:1.2", 734003200)
    pushed = buildkit.manifest(MANIFEST, ref="registry.example/jobs-web:1.2")
    assert pushed.layers == [32654, 16724] and pushed.size == 32654 + 16724 + 7023


def test_the_api_stores_steps_and_image_sizes(client: TestClient, runtime: Runtime) -> None:
    headers = {"Authorization": f"Bearer {issue_token(runtime, 'ingest', 'read')}"}
    response = client.post("/api/v1/delivery/builds/b-9/buildkit?service=jobs-web", content=STREAM, headers=headers)
    assert response.status_code == 201, response.text
    assert (response.json()["steps"], response.json()["cached"]) == (3, 1)
    again = client.post("/api/v1/delivery/builds/b-9/buildkit?service=jobs-web", content=STREAM, headers=headers)
    assert again.status_code == 201
    with runtime.sessions() as session:
        steps = session.scalars(select(DeliveryStep).order_by(DeliveryStep.number)).all()
        assert [(s.name, s.cached) for s in steps] == [
            (LOAD, False),
            ("[2/4] RUN bundle install", True),
            ("[3/4] RUN yarn install", False),
        ], "a stream sent twice replaces the job's steps"
    image = client.post(
        "/api/v1/delivery/images?service=jobs-web&kind=inspect&push_seconds=41.5", content=INSPECT, headers=headers
    )
    assert image.status_code == 201 and image.json()["size"] == 734003200
    bad = client.post("/api/v1/delivery/images?service=jobs-web&kind=manifest", content=b"[]", headers=headers)
    assert bad.status_code == 422
    with runtime.sessions() as session:
        rows = session.scalars(select(DeliveryImage)).all()
        assert [(r.ref, r.push_seconds) for r in rows] == [("jobs-web:1.2", 41.5)]
