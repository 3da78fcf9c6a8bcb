"""`live_demo` end to end: synthetic camera + estimator as processes, accuracy printed, children stopped.

Runs as `make demo` does, with the shipped model or, on a checkout without one, the
untrained network the demo falls back to (then the accuracy figures are meaningless and
their plumbing is what is checked: ground truth and poses are matched by stamp and id).
"""

import importlib.util
import os
import re
import subprocess
import sys

import pytest

from posediff_ros.paths import default_model_path

pytestmark = [
    pytest.mark.ros,
    pytest.mark.skipif(importlib.util.find_spec("rclpy") is None, reason="rclpy is not installed"),
]


def test_live_demo_prints_accuracy_and_cleans_up():
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "posediff_ros.ros.live_demo",
            "--duration",
            "14",
            "--rate",
            "4",
            "--width",
            "160",
            "--height",
            "120",
            "--estimator-param",
            "num_threads:=1",
        ],
        capture_output=True,
        text=True,
        timeout=90,
        env=dict(os.environ),
    )
    assert result.returncode == 0, result.stdout + result.stderr
    if default_model_path() is None:
        assert "running an UNTRAINED network" in result.stderr
    lines = result.stdout.splitlines()
    assert any(re.search(r"frames \d+ \([\d.?]+ Hz, latency \d+ ms, dropped [\d?]+\)", line) for line in lines), lines
    final = re.search(r"done\. (\d+) frames \| objects (\d+) \(missed \d+\) .*5°2cm .*10°5cm", lines[-1])
    assert final and int(final.group(1)) > 3 and int(final.group(2)) > 0, lines[-1]
    pids = [int(pid) for pid in re.findall(r"pid (\d+)", lines[0])]
    assert len(pids) == 2
    for pid in pids:  # both children were stopped and reaped
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
