"""The `main()` of a node: explicit rclpy.init()/shutdown() around spinning (DESIGN.md §2)."""

from __future__ import annotations

from collections.abc import Callable

import rclpy
from rclpy.executors import ExternalShutdownException
from rclpy.node import Node


def run_node(make_node: Callable[[], Node], name: str, startup_errors: tuple[type[Exception], ...],
             args: list[str] | None = None) -> int:
    """Create the node and spin it until Ctrl-C or shutdown; returns the process exit code.

    An error of `startup_errors` while creating the node (a bad parameter, a missing
    model) is logged as one line and gives exit code 1 instead of a traceback.
    """
    rclpy.init(args=args)
    node = None
    try:
        try:
            node = make_node()
        except startup_errors as error:
            rclpy.logging.get_logger(name).error(f"cannot start: {error}")
            return 1
        rclpy.spin(node)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        if node is not None:
            node.destroy_node()
        rclpy.try_shutdown()
    return 0
