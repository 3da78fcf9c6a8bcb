"""The `main()` of a node: explicit rclpy.init()/shutdown() around spinning (docs/conventions.md §8.3).

Ctrl-C stops the node before its context. rclpy's own SIGINT handler would shut the
context down at once, from a thread of its own, while the node's worker may still be
inside a frame; its publish then fails ("publisher's context is invalid"). So SIGINT
stays Python's KeyboardInterrupt in the main thread, which spins in short slices to
notice it, destroys the node (joining its threads) and only then shuts rclpy down.
SIGTERM keeps rclpy's handler, an immediate shutdown that the nodes tolerate quietly.
"""

from __future__ import annotations

import signal
from collections.abc import Callable

import rclpy
from rclpy.executors import ExternalShutdownException, SingleThreadedExecutor
from rclpy.node import Node
from rclpy.signals import SignalHandlerOptions

SIGINT_LATENCY = 0.1  # seconds: the longest the executor waits before a pending Ctrl-C is seen


def run_node(
    make_node: Callable[[], Node], name: str, startup_errors: tuple[type[Exception], ...], args: list[str] | None = None
) -> int:
    """Create the node and spin it until Ctrl-C or shutdown; returns the process exit code.

    An error of `startup_errors` while creating the node (a bad parameter, a missing
    model) is logged as one line and gives exit code 1 instead of a traceback.
    """
    rclpy.init(args=args, signal_handler_options=SignalHandlerOptions.SIGTERM)
    # A shell's background job inherits SIGINT ignored; Python then installs no handler.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    node = None
    try:
        try:
            node = make_node()
        except startup_errors as error:
            rclpy.logging.get_logger(name).error(f"cannot start: {error}")
            return 1
        executor = SingleThreadedExecutor()
        executor.add_node(node)
        while executor.context.ok():
            try:
                executor.spin_once(timeout_sec=SIGINT_LATENCY)
            except Exception:
                # SIGTERM's handler may shut the context down between ok() and the wait
                # set's creation, which then raises RCLError: that is a shutdown, not a fault.
                if executor.context.ok():
                    raise
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        if node is not None:
            node.destroy_node()
        rclpy.try_shutdown()
    return 0
