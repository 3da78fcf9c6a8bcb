"""The `managed_estimator` node: the estimator as a managed (lifecycle) node, rclpy.lifecycle.

The same node name, parameters, topics and work as `estimator` (node.py), driven by the
lifecycle transitions (`ros2 lifecycle set /posediff_estimator <transition>`):

    configure    load the model and warm it up, make the publishers
    activate     subscribe to the inputs: frames are processed and published
    deactivate   unsubscribe; the model stays loaded, nothing is published
    cleanup      free the model (back to unconfigured)
    shutdown     from any state: stop and free everything

It starts unconfigured. A configure that fails (a missing model, a bad parameter) logs
why and leaves the node unconfigured, so that it can be fixed and configured again.
`launch/estimator.launch.py managed:=true` starts this one instead of the plain node.
"""

from __future__ import annotations

import sys

from rclpy.lifecycle import LifecycleNode, LifecycleState, TransitionCallbackReturn

from .node import NODE_NAME, STARTUP_ERRORS, Estimator
from .spin import run_node


class ManagedEstimatorNode(Estimator, LifecycleNode):
    def __init__(self):
        LifecycleNode.__init__(self, NODE_NAME)
        self.declare()

    def on_configure(self, state: LifecycleState) -> TransitionCallbackReturn:
        try:
            self.configure()
        except STARTUP_ERRORS as error:
            self.get_logger().error(f"cannot configure: {error}")
            self.engine = None
            return TransitionCallbackReturn.FAILURE
        self.get_logger().info(f"configured: model {self.model_path} on {self.engine.device}")
        return TransitionCallbackReturn.SUCCESS

    def on_activate(self, state: LifecycleState) -> TransitionCallbackReturn:
        self.activate()
        return super().on_activate(state)

    def on_deactivate(self, state: LifecycleState) -> TransitionCallbackReturn:
        self.deactivate()
        self.get_logger().info("deactivated: inputs unsubscribed, model kept")
        return super().on_deactivate(state)

    def on_cleanup(self, state: LifecycleState) -> TransitionCallbackReturn:
        self.cleanup()
        self.get_logger().info("cleaned up: model freed")
        return TransitionCallbackReturn.SUCCESS

    def on_shutdown(self, state: LifecycleState) -> TransitionCallbackReturn:
        if self.worker is not None:
            self.deactivate()
        if self.engine is not None:
            self.cleanup()
        return TransitionCallbackReturn.SUCCESS


def main(args: list[str] | None = None) -> int:
    return run_node(ManagedEstimatorNode, NODE_NAME, STARTUP_ERRORS, args)


if __name__ == "__main__":
    sys.exit(main())
