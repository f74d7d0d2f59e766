"""The collector pause around reading and storing a big report: nested and concurrent pauses share one, the
collector resumes when the last ends, and a collector that was off stays off."""

from __future__ import annotations

import gc

from mamori.sast import gcpause


def test_the_pause_nests_and_restores_what_was_there() -> None:
    assert gc.isenabled()
    try:
        with gcpause.paused():
            assert not gc.isenabled()
            with gcpause.paused():
                assert not gc.isenabled()
            assert not gc.isenabled()  # the outer upload is still running
        assert gc.isenabled()
        gc.disable()
        with gcpause.paused():
            pass
        assert not gc.isenabled()  # it was off before: it stays off
    finally:
        gc.enable()


def test_the_collector_resumes_after_an_error() -> None:
    try:
        with gcpause.paused():
            raise RuntimeError("bad report")
    except RuntimeError:
        pass
    assert gc.isenabled()
