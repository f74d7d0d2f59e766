"""Feed and advisory downloads stop at their size limit while streaming, never reading a huge body whole."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from mamori.core.errors import InvalidInput
from mamori.core.runtime import Runtime
from mamori.vulns import feeds, store, watch

CHUNK = b"x" * 65536


def _endless(sent: list[int], *, total: int) -> Iterator[bytes]:
    while sent[0] < total:
        sent[0] += len(CHUNK)
        yield CHUNK


def _serving(sent: list[int], *, total: int, declare: bool = False) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        headers = {"content-length": str(total)} if declare else {}
        return httpx.Response(200, headers=headers, content=_endless(sent, total=total))

    return httpx.MockTransport(handler)


def test_a_300_mib_feed_is_stopped_just_past_the_feed_limit(make_runtime) -> None:  # type: ignore[no-untyped-def]
    sent = [0]
    runtime: Runtime = make_runtime(http_transport=_serving(sent, total=300 * 1024 * 1024), allow_private_webhooks=True)
    with pytest.raises(feeds.InvalidFeed, match=r"larger than 10485760 bytes \(stopped reading\)"):
        watch._fetch(runtime, "http://127.0.0.1:9/feed.rss")
    assert sent[0] <= watch.MAX_FEED_BYTES + 2 * len(CHUNK), "the body must not be read past the limit"


def test_a_declared_length_over_the_limit_is_refused_before_reading(make_runtime) -> None:  # type: ignore[no-untyped-def]
    sent = [0]
    runtime: Runtime = make_runtime(
        http_transport=_serving(sent, total=store.MAX_DOWNLOAD_BYTES + 1, declare=True), allow_private_webhooks=True
    )
    with pytest.raises(InvalidInput, match="Content-Length"):
        store._fetch(runtime, "http://127.0.0.1:9/all.zip")
    assert sent[0] == 0


def test_a_body_under_the_limit_is_returned_whole(make_runtime) -> None:  # type: ignore[no-untyped-def]
    sent = [0]
    runtime: Runtime = make_runtime(http_transport=_serving(sent, total=3 * len(CHUNK)), allow_private_webhooks=True)
    assert watch._fetch(runtime, "http://127.0.0.1:9/feed.rss") == CHUNK * 3
