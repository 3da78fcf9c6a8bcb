"""Approximate-time synchronization of depth and mask (or detections): message_filters or an equivalent.

On a ROS 2 install `message_filters` is used. The PyPI wheels lack it, so a small
equivalent with the same semantics stands in: one queue per input keyed by header stamp
(at most `queue_size`, the oldest dropped, even the one arriving), and on each arrival the
closest messages of the other inputs within `slop` seconds form a set when the set's
spread is below `slop`; the matched messages leave their queues. Like message_filters,
the callback runs under the synchronizer's lock, so it must only hand the set over, not
process it.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable, Sequence

from .stamps import stamp_ns


class _SimpleFilter:
    """message_filters.SimpleFilter: callbacks get the messages, then their registered extra arguments."""

    def __init__(self):
        self.callbacks: dict[int, tuple[Callable, tuple]] = {}

    def registerCallback(self, callback: Callable, *args) -> int:  # noqa: N802 (message_filters' name)
        connection = len(self.callbacks)
        self.callbacks[connection] = (callback, args)
        return connection

    def signalMessage(self, *msgs) -> None:  # noqa: N802 (message_filters' name)
        for callback, args in self.callbacks.values():
            callback(*msgs, *args)


class _Subscriber(_SimpleFilter):
    """A subscription whose messages go to the registered callbacks (message_filters.Subscriber)."""

    def __init__(self, node, msg_type, topic: str, qos_profile=10):
        super().__init__()
        self.sub = node.create_subscription(msg_type, topic, self.signalMessage, qos_profile)


class _ApproximateTimeSynchronizer(_SimpleFilter):
    """message_filters.ApproximateTimeSynchronizer's policy, for headered messages."""

    def __init__(self, inputs: Sequence, queue_size: int, slop: float):
        super().__init__()
        self.queue_size, self.slop_ns = queue_size, int(slop * 1e9)
        self.queues: list[dict[int, object]] = [{} for _ in inputs]
        self.lock = threading.Lock()
        for index, source in enumerate(inputs):
            source.registerCallback(self.add, index)

    def add(self, msg, index: int) -> None:
        stamp = stamp_ns(msg.header)
        with self.lock:
            queue = self.queues[index]
            queue[stamp] = msg
            while len(queue) > self.queue_size:
                del queue[min(queue)]
            if stamp not in queue:  # older than everything in its full queue: dropped on arrival
                return
            # Candidate stamps of every other input within slop, closest first.
            candidates = []
            for other, q in enumerate(self.queues):
                if other == index:
                    continue
                close = sorted((s for s in q if abs(s - stamp) <= self.slop_ns), key=lambda s: abs(s - stamp))
                if not close:
                    return
                candidates.append(close)
            for combination in itertools.product(*candidates):
                stamps = list(combination)
                stamps.insert(index, stamp)
                if max(stamps) - min(stamps) < self.slop_ns:
                    self.signalMessage(*[q.pop(s) for q, s in zip(self.queues, stamps, strict=True)])
                    return


try:  # a ROS 2 install
    from message_filters import ApproximateTimeSynchronizer, Subscriber
except ImportError:  # the PyPI wheels
    ApproximateTimeSynchronizer, Subscriber = _ApproximateTimeSynchronizer, _Subscriber


def synchronize(node, topics: Sequence[tuple[type, str]], qos, queue_size: int, slop: float, callback: Callable):
    """Subscribe to `topics` ((message type, topic name) pairs) and call `callback(*msgs)` with
    approximately simultaneous messages.

    Returns the synchronizer (keep a reference: it owns the subscriptions, `sync.subscribers`).
    """
    subscribers = [Subscriber(node, msg_type, topic, qos_profile=qos) for msg_type, topic in topics]
    sync = ApproximateTimeSynchronizer(subscribers, queue_size, slop)
    sync.registerCallback(callback)
    sync.subscribers = subscribers  # keep them alive as long as the synchronizer
    return sync
