"""ROS messages built from the engine's results: Detection3DArray, TF transforms, markers.

Poses are in the depth image's optical frame (docs/conventions.md §3, §8). Each object is named by
its track, `<category>_<k>` (`PublishedObject.name`); that name is the Detection3D id (unless the
object came from a 2D detection with an id: then that id, to join 2D and 3D results), the
TF child frame (after the prefix) and the marker text; the marker id is the label.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from scipy.spatial.transform import Rotation

from ..estimator import ObjectPose
from ..geometry import rotation_6d_columns_to_matrix
from ..labels import LabelEncoding

FIXED_COVARIANCE = np.diag([0.02**2] * 3 + [np.deg2rad(10.0) ** 2] * 3)
"""Pose covariance with a single sample (K = 1): 2 cm and 10 degrees standard deviation,
the order of the paper's 5°2cm / 10°5cm thresholds; an honest "roughly this good"."""
MIN_VARIANCE = 1e-6
"""Floor on the diagonal of a sample covariance, so that K nearly identical samples do not
claim a singular (infinitely certain) pose."""

# Marker colours by category name (RGB), others grey.
COLOURS = {
    "bottle": (0.12, 0.47, 0.71),
    "bowl": (1.0, 0.5, 0.05),
    "camera": (0.17, 0.63, 0.17),
    "can": (0.84, 0.15, 0.16),
    "laptop": (0.58, 0.4, 0.74),
    "mug": (0.55, 0.34, 0.29),
}
MARKER_NAMESPACES = ("boxes", "axes", "labels")


def track_name(category: str, label: int, encoding: LabelEncoding) -> str:
    """`<category>_<k>`: k is the panoptic instance index, or the instance label itself."""
    return f"{category}_{encoding.instance_index(label)}"


@dataclass(frozen=True)
class PublishedObject:
    """An engine result with the name it is published under."""

    pose: ObjectPose
    name: str  # <category>_<k>
    detection_id: str = ""  # the id of the 2D detection it came from, where the detector gave one


def pose_msg(R: np.ndarray, t: np.ndarray):
    from geometry_msgs.msg import Point, Pose, Quaternion

    x, y, z, w = Rotation.from_matrix(R).as_quat()
    return Pose(
        position=Point(x=float(t[0]), y=float(t[1]), z=float(t[2])),
        orientation=Quaternion(x=float(x), y=float(y), z=float(z), w=float(w)),
    )


def pose_covariance(pose: ObjectPose) -> np.ndarray:
    """6x6 covariance of (x, y, z, rotation about the parent frame's X, Y, Z).

    From the spread of the K samples around the published pose when K > 1: translations
    directly, rotations as the rotation vectors of R_k R^T (a perturbation expressed in
    the parent frame, the convention of geometry_msgs/PoseWithCovariance). K = 1: fixed.
    """
    if pose.samples is None or len(pose.samples) < 2:
        return FIXED_COVARIANCE.copy()
    samples = np.asarray(pose.samples, float)
    R_k = rotation_6d_columns_to_matrix(torch.from_numpy(samples[:, :6])).numpy()
    rotvec = Rotation.from_matrix(R_k @ pose.R.T).as_rotvec()
    deviations = np.concatenate((samples[:, 6:9] - pose.t, rotvec), axis=1)
    covariance = deviations.T @ deviations / (len(samples) - 1)
    return covariance + MIN_VARIANCE * np.eye(6)


UNSCORED = 1.0
"""hypothesis.score of a pose without a confidence (a checkpoint without a calibration): as
before scores existed; the engine warns that the checkpoint has none."""


def detection_array(header, objects: list[PublishedObject]):
    """vision_msgs/Detection3DArray: id = the source detection's id, else the track name; class_id =
    category, score = the engine's P(within 10°5cm) (UNSCORED without a calibration), pose,
    bbox = pose + size."""
    from geometry_msgs.msg import Vector3
    from vision_msgs.msg import Detection3D, Detection3DArray, ObjectHypothesisWithPose

    array = Detection3DArray(header=header)
    for o in objects:
        pose = pose_msg(o.pose.R, o.pose.t)
        result = ObjectHypothesisWithPose()
        result.hypothesis.class_id = o.pose.category
        result.hypothesis.score = UNSCORED if o.pose.score is None else float(o.pose.score)
        result.pose.pose = pose
        result.pose.covariance = pose_covariance(o.pose).ravel().tolist()
        detection = Detection3D(header=header, results=[result], id=o.detection_id or o.name)
        detection.bbox.center = pose
        detection.bbox.size = Vector3(x=float(o.pose.size[0]), y=float(o.pose.size[1]), z=float(o.pose.size[2]))
        array.detections.append(detection)
    return array


def transforms(header, objects: list[PublishedObject], prefix: str) -> list:
    """One TransformStamped per object: parent = header.frame_id, child = prefix + name."""
    from geometry_msgs.msg import TransformStamped

    result = []
    for o in objects:
        pose = pose_msg(o.pose.R, o.pose.t)
        transform = TransformStamped(header=header, child_frame_id=prefix + o.name)
        transform.transform.translation.x = pose.position.x
        transform.transform.translation.y = pose.position.y
        transform.transform.translation.z = pose.position.z
        transform.transform.rotation = pose.orientation
        result.append(transform)
    return result


def marker_array(header, objects: list[PublishedObject], gone: list[int]):
    """Boxes, axes and text (name, tracked or new, score) per object (marker id = label), DELETE
    for labels in `gone`."""
    from geometry_msgs.msg import Point, Vector3
    from std_msgs.msg import ColorRGBA
    from visualization_msgs.msg import Marker, MarkerArray

    markers = MarkerArray()
    for o in objects:
        p = o.pose
        r, g, b = COLOURS.get(p.category, (0.6, 0.6, 0.6))
        pose = pose_msg(p.R, p.t)
        size = np.maximum(p.size, 0.005)
        shown = dict(header=header, id=p.label, action=Marker.ADD)  # what the three markers share
        box = Marker(
            **shown,
            ns="boxes",
            type=Marker.CUBE,
            pose=pose,
            scale=Vector3(x=float(size[0]), y=float(size[1]), z=float(size[2])),
            color=ColorRGBA(r=r, g=g, b=b, a=0.35),
        )
        length = float(np.clip(0.6 * size.max(), 0.03, 0.3))
        axes = Marker(
            **shown,
            ns="axes",
            type=Marker.LINE_LIST,
            pose=pose,
            scale=Vector3(x=0.004),
            color=ColorRGBA(a=1.0),
        )
        for axis in range(3):
            end = [0.0, 0.0, 0.0]
            end[axis] = length
            colour = ColorRGBA(r=float(axis == 0), g=float(axis == 1), b=float(axis == 2), a=1.0)
            axes.points += [Point(), Point(x=end[0], y=end[1], z=end[2])]
            axes.colors += [colour, colour]
        # Text above the box: "up" in an optical frame is -y.
        text_pose = pose_msg(np.eye(3), p.t + np.array([0.0, -(0.5 * float(size.max()) + 0.03), 0.0]))
        text = Marker(
            **shown,
            ns="labels",
            type=Marker.TEXT_VIEW_FACING,
            pose=text_pose,
            scale=Vector3(z=0.03),
            color=ColorRGBA(r=1.0, g=1.0, b=1.0, a=1.0),
            text=f"{o.name} ({'tracked' if p.tracked else 'new'})" + ("" if p.score is None else f" {p.score:.2f}"),
        )
        markers.markers += [box, axes, text]
    for label in gone:
        markers.markers += [Marker(header=header, ns=ns, id=label, action=Marker.DELETE) for ns in MARKER_NAMESPACES]
    return markers
