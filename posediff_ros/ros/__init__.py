"""ROS seams and conversions of the estimator node.

Everything here is small and testable without a running node: image and camera-info
conversion, the depth/mask synchronizer, the TF broadcaster and point-cloud builder
(the real ROS packages where installed, NumPy equivalents on the PyPI wheels), message
building from engine results, and the label-to-track association.
"""
