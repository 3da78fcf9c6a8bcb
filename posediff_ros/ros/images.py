"""sensor_msgs/Image <-> NumPy and sensor_msgs/CameraInfo -> Intrinsics, without cv_bridge.

cv_bridge is avoided on purpose: it is built against the distribution's NumPy and breaks
with NumPy 2 on several distros, while these conversions are a few lines of NumPy.
Rows are read with the message's `step` (rows may be padded) and `is_bigendian`
(docs/conventions.md §4); encodings follow sensor_msgs/image_encodings.
"""

from __future__ import annotations

import array

import numpy as np

from ..geometry import Intrinsics, valid_depth

# encoding -> (dtype, channels). Only what the node reads or writes.
ENCODINGS: dict[str, tuple[np.dtype, int]] = {
    "mono8": (np.dtype(np.uint8), 1),
    "8UC1": (np.dtype(np.uint8), 1),
    "mono16": (np.dtype(np.uint16), 1),
    "16UC1": (np.dtype(np.uint16), 1),
    "32FC1": (np.dtype(np.float32), 1),
    "rgb8": (np.dtype(np.uint8), 3),
}
DEPTH_ENCODINGS = ("16UC1", "mono16", "32FC1")
MASK_ENCODINGS = ("mono8", "8UC1", "mono16", "16UC1")

MM_LIKE_METRES = 20.0
"""A 32FC1 depth image (metres) whose median valid value exceeds this is taken to be in
millimetres: no table-top scene a depth camera sees is 20 m away."""


class ImageError(ValueError):
    """An image cannot be used; the message says why and what was expected."""


def image_to_array(msg, allowed: tuple[str, ...]) -> np.ndarray:
    """(H, W) array of a single-channel image (native byte order), honouring step and endianness."""
    if msg.encoding not in allowed:
        raise ImageError(f"encoding {msg.encoding!r} is not supported; expected one of {', '.join(allowed)}")
    dtype, channels = ENCODINGS[msg.encoding]
    dtype = dtype.newbyteorder(">" if msg.is_bigendian else "<")
    row_bytes = msg.width * channels * dtype.itemsize
    if msg.step < row_bytes or len(msg.data) < msg.step * msg.height:
        raise ImageError(
            f"{msg.encoding} image {msg.width}x{msg.height} with step {msg.step} "
            f"has {len(msg.data)} bytes; needs step >= {row_bytes} and {msg.step * msg.height} bytes"
        )
    raw = np.frombuffer(msg.data, np.uint8, count=msg.step * msg.height).reshape(msg.height, msg.step)
    pixels = raw[:, :row_bytes].copy().view(dtype)  # copy: drop the row padding, then reinterpret
    pixels = pixels.reshape(msg.height, msg.width, channels) if channels > 1 else pixels
    return pixels.astype(dtype.newbyteorder("="), copy=False)


def depth_to_metres(msg) -> np.ndarray:
    """Depth image -> (H, W) float32 metres, 0 or non-finite invalid (REP 118).

    16UC1/mono16 are millimetres (0 invalid); 32FC1 is metres. Raises ImageError for other
    encodings and for a 32FC1 image whose values look like millimetres.
    """
    depth = image_to_array(msg, DEPTH_ENCODINGS)
    if depth.dtype == np.uint16:
        return depth.astype(np.float32) * np.float32(1e-3)
    valid = valid_depth(depth)
    if valid.any() and float(np.median(depth[valid])) > MM_LIKE_METRES:
        raise ImageError(
            f"32FC1 depth has a median of {float(np.median(depth[valid])):.0f}, which looks like "
            "millimetres; 32FC1 must be metres (REP 118): publish 16UC1 millimetres or divide by 1000"
        )
    return depth


def mask_to_labels(msg) -> np.ndarray:
    """Instance mask -> (H, W) int32 labels, 0 background."""
    return image_to_array(msg, MASK_ENCODINGS).astype(np.int32)


def array_to_image(pixels: np.ndarray, encoding: str, header=None):
    """A sensor_msgs/Image of an (H, W) or (H, W, 3) array, little-endian, unpadded rows."""
    from sensor_msgs.msg import Image

    dtype, channels = ENCODINGS[encoding]
    pixels = np.ascontiguousarray(pixels, dtype=dtype.newbyteorder("<"))
    msg = Image(
        height=pixels.shape[0],
        width=pixels.shape[1],
        encoding=encoding,
        is_bigendian=0,
        step=pixels.shape[1] * channels * dtype.itemsize,
    )
    if header is not None:
        msg.header = header
    # array.array('B'): rclpy stores it as is; bytes would be checked element by element (docs/conventions.md §9).
    msg.data = array.array("B", pixels.tobytes())
    return msg


def camera_info_to_intrinsics(msg) -> Intrinsics:
    """Intrinsics from the projection matrix P (as image_geometry does), K when P is all zeros."""
    p, k = np.asarray(msg.p, float), np.asarray(msg.k, float)
    if p.any():
        fx, fy, cx, cy = p[0], p[5], p[2], p[6]
    elif k.any():
        fx, fy, cx, cy = k[0], k[4], k[2], k[5]
    else:
        raise ImageError("camera info has neither P nor K (both all zeros)")
    if fx <= 0 or fy <= 0 or msg.width == 0 or msg.height == 0:
        raise ImageError(f"camera info is not usable: fx={fx} fy={fy} size {msg.width}x{msg.height}")
    return Intrinsics(float(fx), float(fy), float(cx), float(cy), int(msg.width), int(msg.height))


def intrinsics_to_camera_info(intrinsics: Intrinsics, header=None):
    """A sensor_msgs/CameraInfo of undistorted pinhole intrinsics (K, P, identity R)."""
    from sensor_msgs.msg import CameraInfo

    i = intrinsics
    msg = CameraInfo(
        width=i.width,
        height=i.height,
        distortion_model="plumb_bob",
        d=[0.0] * 5,
        k=[i.fx, 0.0, i.cx, 0.0, i.fy, i.cy, 0.0, 0.0, 1.0],
        r=[1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0],
        p=[i.fx, 0.0, i.cx, 0.0, 0.0, i.fy, i.cy, 0.0, 0.0, 0.0, 1.0, 0.0],
    )
    if header is not None:
        msg.header = header
    return msg
