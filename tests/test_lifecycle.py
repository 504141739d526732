"""lifecycle.ForkedCall: a call in a forked child, now or with its arguments given later."""

from __future__ import annotations

import os
import sys

import pytest

from framescore.lifecycle import ForkedCall, WorkerError

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="ForkedCall needs fork")


def add(a: int, b: int) -> tuple[int, bool]:
    return a + b, "json" in sys.modules


def fail(message: str) -> None:
    raise ValueError(message)


def test_a_call_now_and_a_call_later():
    assert ForkedCall(add, 2, 3).result()[0] == 5
    worker = ForkedCall(add, warm=lambda: __import__("json"), later=True)
    worker.submit(40, 2)
    assert worker.result() == (42, True)  # the warm-up ran in the child first


def test_a_later_call_brings_back_its_exception_and_big_arguments():
    worker = ForkedCall(fail, later=True)
    worker.submit("x" * 1_000_000)  # larger than a pipe's buffer: written while the child reads
    with pytest.raises(ValueError, match="^x+$"):
        worker.result()


def test_a_failed_warm_up_is_met_again_by_the_call():
    worker = ForkedCall(add, warm=lambda: 1 / 0, later=True)
    worker.submit(1, 1)
    assert worker.result()[0] == 2


def test_a_worker_never_given_its_call_is_stopped_and_reaped():
    worker = ForkedCall(add, later=True)
    pid = worker.pid
    worker.stop()
    assert worker.pid is None
    with pytest.raises(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


def test_a_child_that_dies_is_one_error():
    worker = ForkedCall(os._exit, later=True)
    worker.submit(3)
    with pytest.raises(WorkerError, match="died without an answer"):
        worker.result()
