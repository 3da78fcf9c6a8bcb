"""The node's frame-dropping worker, without ROS: newest frame only, one thread, errors reported, joined on stop."""

import threading

from posediff_ros.ros.worker import LatestFrameWorker

TIMEOUT = 10.0


class Recorder:
    """A `process` that records its frames and threads, blocking on frame 1 until released,
    and an `on_error` that records the errors."""

    def __init__(self):
        self.frames, self.threads, self.errors = [], set(), []
        self.busy, self.release, self.done = threading.Event(), threading.Event(), threading.Event()
        self.failed = threading.Event()

    def on_error(self, error):
        self.errors.append(error)
        self.failed.set()

    def __call__(self, frame):
        self.threads.add(threading.get_ident())
        if frame == 1:
            self.busy.set()
            assert self.release.wait(TIMEOUT)
        if frame == "bad":
            raise ValueError("a bad frame")
        self.frames.append(frame)
        if frame == "last":
            self.done.set()


def test_frames_that_wait_are_replaced_by_the_newest():
    process = Recorder()
    worker = LatestFrameWorker(process, process.on_error, name="test_worker")
    try:
        assert worker.submit(1) is False
        assert process.busy.wait(TIMEOUT)  # frame 1 in progress
        assert [worker.submit(frame) for frame in (2, 3, "last")] == [False, True, True]  # 2 and 3 dropped
        process.release.set()
        assert process.done.wait(TIMEOUT)
        assert process.frames == [1, "last"]
        assert process.threads == {worker.thread.ident} and threading.get_ident() not in process.threads
    finally:
        process.release.set()
        worker.stop()


def test_an_error_is_reported_and_the_next_frame_processed():
    process = Recorder()
    worker = LatestFrameWorker(process, process.on_error, name="test_worker")
    try:
        worker.submit("bad")
        assert process.failed.wait(TIMEOUT)
        worker.submit("last")
        assert process.done.wait(TIMEOUT)
        assert [str(e) for e in process.errors] == ["a bad frame"] and process.frames == ["last"]
    finally:
        worker.stop()


def test_stop_lets_the_frame_in_progress_finish_and_joins():
    process = Recorder()
    worker = LatestFrameWorker(process, process.on_error, name="test_worker")
    worker.submit(1)
    assert process.busy.wait(TIMEOUT)
    worker.submit(2)  # pending when the worker stops: never processed
    stopper = threading.Thread(target=worker.stop)
    stopper.start()
    stopper.join(0.2)
    assert stopper.is_alive() and worker.stopping  # waits for frame 1
    process.release.set()
    stopper.join(TIMEOUT)
    assert not stopper.is_alive() and not worker.thread.is_alive()
    assert process.frames == [1]
