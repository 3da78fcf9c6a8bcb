"""The ROS side of posediff_ros: every module that imports rclpy lives here.

The nodes (`node`: the estimator, `synthetic_camera`, `live_demo`) and their parts:
parameters, input conversion, publishing, diagnostics, the latest-frame worker, image and
camera-info conversion, the depth/mask synchronizer, the TF broadcaster and point-cloud
builder (the real ROS packages where installed, NumPy equivalents on the PyPI wheels)
and message building from engine results. Most parts are testable without a running node.
"""
