"""sensor_msgs/PointCloud2 of xyz points: sensor_msgs_py where installed, else NumPy.

Both produce the same message: fields x, y, z as FLOAT32 at offsets 0, 4, 8, 12-byte
points, one row, little-endian (sensor_msgs_py writes the host's order, little on every
platform ROS 2 supports), `is_dense=False` (sensor_msgs_py's `create_cloud` always sets it).
"""

from __future__ import annotations

import array

import numpy as np


def _cloud_xyz32(header, points: np.ndarray):
    from sensor_msgs.msg import PointCloud2, PointField

    points = np.ascontiguousarray(points, dtype="<f4").reshape(-1, 3)
    fields = [PointField(name=n, offset=4 * i, datatype=PointField.FLOAT32, count=1) for i, n in enumerate("xyz")]
    return PointCloud2(
        header=header,
        height=1,
        width=len(points),
        fields=fields,
        is_bigendian=False,
        point_step=12,
        row_step=12 * len(points),
        is_dense=False,
        data=array.array("B", points.tobytes()),
    )


def xyz_cloud(header, points: np.ndarray):
    """PointCloud2 of (N, 3) points in metres, in `header.frame_id`."""
    try:
        from sensor_msgs_py.point_cloud2 import create_cloud_xyz32
    except ImportError:
        return _cloud_xyz32(header, points)
    return create_cloud_xyz32(header, np.asarray(points, np.float32).reshape(-1, 3))
