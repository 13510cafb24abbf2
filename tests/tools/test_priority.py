"""A processor's thread yields the CPU to the server's requests, and only it."""

import os
import threading

import pytest

from whatsapp_team.tools.priority import yield_cpu

pytestmark = pytest.mark.skipif(
    not hasattr(os, "setpriority"), reason="no thread priorities on this system"
)


def _in_thread(function):
    result = {}

    def run():
        result["value"] = function()
        result["own"] = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    return result


def test_the_calling_thread_yields_and_the_others_do_not():
    mine = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    result = _in_thread(lambda: yield_cpu(mine + 5))
    assert result["value"] == mine + 5
    assert result["own"] == mine + 5
    # this thread (an HTTP thread, for a server) is untouched
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == mine


def test_a_thread_already_nicer_keeps_its_niceness():
    mine = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())

    def twice():
        yield_cpu(mine + 7)
        return yield_cpu(mine + 3)

    assert _in_thread(twice)["value"] == mine + 7


def test_zero_changes_nothing():
    mine = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    result = _in_thread(lambda: yield_cpu(0))
    assert result["value"] is None
    assert result["own"] == mine


def test_capped_at_nineteen():
    assert _in_thread(lambda: yield_cpu(40))["value"] == 19
