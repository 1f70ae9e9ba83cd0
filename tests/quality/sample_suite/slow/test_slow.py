"""Slow tests: one that finishes, then one that starts a child process and sleeps a long time."""
import subprocess
import sys
import time


def test_quick():
    assert True


def test_short_waits_1():
    time.sleep(0.4)


def test_short_waits_2():
    time.sleep(0.4)


def test_short_waits_3():
    time.sleep(0.4)


def test_sleeps_with_a_child():
    # The child is in the run's process group: stopping the run must stop it too.
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    try:
        time.sleep(600)
    finally:
        child.kill()
