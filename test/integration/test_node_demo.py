"""`live_demo` end to end: synthetic camera + estimator as processes, accuracy printed, children stopped.

Runs as `make demo` does, with the shipped model or, on a checkout without one, the
untrained network the demo falls back to (then the accuracy figures are meaningless and
their plumbing is what is checked: ground truth and poses are matched by stamp and id).
"""

import importlib.util
import os
import re
import signal
import subprocess
import sys
import time

import pytest

from posediff_ros.paths import default_model_path

pytestmark = [
    pytest.mark.ros,
    pytest.mark.skipif(importlib.util.find_spec("rclpy") is None, reason="rclpy is not installed"),
]


SMALL_DEMO = ["--rate", "4", "--width", "160", "--height", "120", "--estimator-param", "num_threads:=1"]
PROGRESS = r"frames \d+ \([\d.?]+ Hz, latency \d+ ms, dropped [\d?]+\)"


def assert_children_reaped(first_line: str) -> None:
    pids = [int(pid) for pid in re.findall(r"pid (\d+)", first_line)]
    assert len(pids) == 2
    for pid in pids:  # both children were stopped and reaped
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


def run_live_demo(args: list[str], window: float | None, signum: signal.Signals = signal.SIGINT) -> tuple:
    """Run `live_demo ARGS --duration 0` until its first progress line (poses are flowing), for
    `window` more seconds (None: none), then stop it with `signum`: (exit code, stdout lines,
    stderr). Windows count from the first poses, not from the start, whose model loading
    takes longer on a busy machine."""
    process = subprocess.Popen(
        [sys.executable, "-m", "posediff_ros.ros.live_demo", "--duration", "0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(os.environ),
    )
    lines = []
    try:
        deadline = time.monotonic() + 90
        while not any(re.search(PROGRESS, line) for line in lines):  # poses flow
            assert time.monotonic() < deadline and process.poll() is None, lines
            lines.append(process.stdout.readline())
        if window is not None:
            time.sleep(window)
        process.send_signal(signum)
        out, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    return process.returncode, lines + out.splitlines(), err


def test_live_demo_prints_accuracy_and_cleans_up():
    returncode, lines, err = run_live_demo(SMALL_DEMO, window=14)
    assert returncode == 0, "\n".join(lines) + err
    if default_model_path() is None:
        assert "running an UNTRAINED network" in err
    summary = r"stopped by SIGINT\. (\d+) frames \| objects (\d+) \(missed \d+\) .*5°2cm .*10°5cm"
    final = re.search(summary, lines[-1])
    assert final and int(final.group(1)) > 3 and int(final.group(2)) > 0, lines[-1]
    assert_children_reaped(lines[0])


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_live_demo_stopped_by_a_signal_prints_its_summary_and_exits_0(signum):
    """`make demo` ended with Ctrl-C (or a SIGTERM): the summary, exit code 0, no traceback."""
    returncode, lines, err = run_live_demo(SMALL_DEMO, window=None, signum=signum)
    assert returncode == 0, "\n".join(lines) + err
    assert "Traceback" not in err and "Exception" not in err, err
    final = re.search(rf"stopped by {signum.name}\. (\d+) frames \| objects \d+ \(missed \d+\)", lines[-1])
    assert final and int(final.group(1)) > 0, lines[-1]
    assert_children_reaped(lines[0])
