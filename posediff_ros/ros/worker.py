"""One worker thread for the newest frame: frames that wait are replaced, never queued (ROS-free).

The synchronizer hands frames over under its lock and must not wait for inference, so
it only `submit`s. The thread takes the newest pending frame whenever it is free; a frame
replaced before the thread took it is dropped, so the node never falls behind its camera.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Generic, TypeVar

Frame = TypeVar("Frame")


class LatestFrameWorker(Generic[Frame]):
    """Runs `process(frame)` on one thread for the newest submitted frame.

    An exception of `process` goes to `on_error` and the thread takes the next frame.
    """

    def __init__(self, process: Callable[[Frame], None], on_error: Callable[[Exception], None], name: str):
        self._process, self._on_error = process, on_error
        self._pending: list[Frame] = []  # at most one: the newest frame not yet taken
        self._wake = threading.Condition()
        self.stopping = False
        self.thread = threading.Thread(target=self._run, name=name, daemon=True)
        self.thread.start()

    def submit(self, frame: Frame) -> bool:
        """Make `frame` the next one processed; True when it replaced one not yet taken (dropped)."""
        with self._wake:
            dropped = bool(self._pending)
            self._pending[:] = [frame]
            self._wake.notify()
        return dropped

    def stop(self, timeout: float = 10.0) -> None:
        """Let the frame in progress finish, drop a pending one and join the thread."""
        with self._wake:
            self.stopping = True
            self._wake.notify()
        self.thread.join(timeout)

    def _run(self) -> None:
        while True:
            with self._wake:
                self._wake.wait_for(lambda: self._pending or self.stopping)
                if self.stopping:
                    return
                frame = self._pending.pop()
            try:
                self._process(frame)
            except Exception as error:  # one bad frame must not end the worker
                self._on_error(error)
