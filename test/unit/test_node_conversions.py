"""The node's seams and conversions, without DDS: images, camera info, messages built from
engine results, object names, overlay (the stand-ins for ROS packages: test_stand_ins.py)."""

import importlib.util
from dataclasses import replace

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

if importlib.util.find_spec("rclpy") is None:
    pytest.skip("rclpy is not installed (run `make venv` or source a ROS 2 install)", allow_module_level=True)

from sensor_msgs.msg import CameraInfo, Image  # noqa: E402
from std_msgs.msg import Header  # noqa: E402

from posediff_ros.estimator import FrameEstimate, ObjectPose  # noqa: E402
from posediff_ros.geometry import REAL275_INTRINSICS, Intrinsics  # noqa: E402
from posediff_ros.labels import LabelEncoding  # noqa: E402
from posediff_ros.ros import images, messages  # noqa: E402
from posediff_ros.ros.node import published_objects  # noqa: E402
from posediff_ros.ros.overlay import depth_overlay  # noqa: E402

SMALL = Intrinsics(100.0, 100.0, 16.0, 12.0, 32, 24)


def raw_image(pixels: np.ndarray, encoding: str, bigendian: bool = False, pad: int = 0) -> Image:
    """An Image with `pad` junk bytes after each row, in the given byte order."""
    data = pixels.astype(pixels.dtype.newbyteorder(">" if bigendian else "<"))
    rows = data.reshape(pixels.shape[0], -1).view(np.uint8)
    rows = np.concatenate([rows, np.full((rows.shape[0], pad), 0xAB, np.uint8)], axis=1)
    msg = Image(
        height=pixels.shape[0],
        width=pixels.shape[1],
        encoding=encoding,
        is_bigendian=int(bigendian),
        step=rows.shape[1],
    )
    msg.data = rows.tobytes()
    return msg


@pytest.mark.parametrize("bigendian", [False, True])
@pytest.mark.parametrize("pad", [0, 6])
@pytest.mark.parametrize("encoding", ["16UC1", "mono16", "32FC1"])
def test_depth_honours_step_and_endianness(encoding, pad, bigendian):
    rng = np.random.default_rng(0)
    metres = rng.uniform(0.3, 2.0, (5, 7)).astype(np.float32)
    metres[0, 0] = 0.0
    pixels = np.rint(metres * 1000).astype(np.uint16) if encoding != "32FC1" else metres
    depth = images.depth_to_metres(raw_image(pixels, encoding, bigendian, pad))
    assert depth.dtype == np.float32 and depth.shape == (5, 7)
    np.testing.assert_allclose(depth, metres, atol=6e-4)


@pytest.mark.parametrize("encoding", ["mono8", "8UC1", "mono16", "16UC1"])
def test_mask_encodings(encoding):
    dtype = np.uint8 if "8" in encoding else np.uint16
    labels = np.array([[0, 1, 2], [3, 200, 0]], dtype)
    if dtype == np.uint16:
        labels[1, 1] = 6001
    np.testing.assert_array_equal(images.mask_to_labels(raw_image(labels, encoding, True, 2)), labels)


def test_bad_images_raise_clear_errors():
    with pytest.raises(images.ImageError, match="encoding 'rgb8' is not supported; expected one of 16UC1"):
        images.depth_to_metres(raw_image(np.zeros((2, 2, 3), np.uint8), "rgb8"))
    short = raw_image(np.zeros((4, 4), np.uint16), "16UC1")
    short.data = short.data[:10]
    with pytest.raises(images.ImageError, match="bytes"):
        images.depth_to_metres(short)
    millimetres = np.full((4, 4), 800.0, np.float32)
    with pytest.raises(images.ImageError, match="looks like millimetres"):
        images.depth_to_metres(raw_image(millimetres, "32FC1"))


def test_array_to_image_round_trip():
    depth = np.arange(12, dtype=np.uint16).reshape(3, 4) * 100
    msg = images.array_to_image(depth, "16UC1", Header(frame_id="cam"))
    assert (msg.step, msg.header.frame_id, msg.is_bigendian) == (8, "cam", 0)
    np.testing.assert_array_equal(images.image_to_array(msg, ("16UC1",)), depth)


def test_camera_info_uses_p_then_k():
    info = images.intrinsics_to_camera_info(REAL275_INTRINSICS)
    assert images.camera_info_to_intrinsics(info) == REAL275_INTRINSICS
    info.p = [500.0, 0, 300.0, 0, 0, 510.0, 200.0, 0, 0, 0, 1, 0]  # rectified P differs from K: P wins
    assert images.camera_info_to_intrinsics(info) == Intrinsics(500.0, 510.0, 300.0, 200.0, 640, 480)
    info.p = [0.0] * 12
    assert images.camera_info_to_intrinsics(info) == REAL275_INTRINSICS
    with pytest.raises(images.ImageError, match="neither P nor K"):
        images.camera_info_to_intrinsics(CameraInfo(width=640, height=480))


# ----------------------------------------------------------------------------- messages


def pose(label=6001, category="mug", samples=None, tracked=False):
    R = Rotation.from_rotvec([0.1, -0.4, 0.3]).as_matrix()
    return ObjectPose(
        label=label,
        category=category,
        R=R,
        t=np.array([0.1, -0.05, 0.7]),
        size=np.array([0.1, 0.09, 0.08]),
        num_points=500,
        centroid=np.array([0.1, -0.05, 0.68]),
        tracked=tracked,
        samples=samples,
    )


def test_detection_array_fields():
    header = Header(frame_id="cam")
    o = messages.PublishedObject(pose(), "mug_1")
    array = messages.detection_array(header, [o])
    d = array.detections[0]
    assert (array.header.frame_id, d.id, d.results[0].hypothesis.class_id) == ("cam", "mug_1", "mug")
    q = d.results[0].pose.pose.orientation
    np.testing.assert_allclose(Rotation.from_quat([q.x, q.y, q.z, q.w]).as_matrix(), o.pose.R, atol=1e-9)
    assert d.bbox.center == d.results[0].pose.pose and (d.bbox.size.x, d.bbox.size.z) == (0.1, 0.08)
    np.testing.assert_allclose(np.reshape(d.results[0].pose.covariance, (6, 6)), messages.FIXED_COVARIANCE)


def test_covariance_from_samples():
    rng = np.random.default_rng(0)
    base = pose()
    K = 400
    R_k = Rotation.from_rotvec(rng.normal(0, [0.01, 0.05, 0.02], (K, 3))).as_matrix() @ base.R
    t_k = base.t + rng.normal(0, [0.01, 0.02, 0.03], (K, 3))
    samples = np.concatenate([R_k[:, :, 0], R_k[:, :, 1], t_k], axis=1)
    covariance = messages.pose_covariance(pose(samples=samples))
    np.testing.assert_allclose(np.sqrt(np.diag(covariance)), [0.01, 0.02, 0.03, 0.01, 0.05, 0.02], rtol=0.15)
    assert np.allclose(covariance, covariance.T) and np.linalg.eigvalsh(covariance).min() > 0


def test_transforms_and_markers():
    header = Header(frame_id="cam")
    objects = [messages.PublishedObject(pose(tracked=True), "mug_1")]
    (transform,) = messages.transforms(header, objects, "p/")
    assert (transform.header.frame_id, transform.child_frame_id) == ("cam", "p/mug_1")
    assert transform.transform.translation.z == pytest.approx(0.7)
    markers = messages.marker_array(header, objects, gone=[1002]).markers
    adds = [(m.ns, m.id) for m in markers if m.action == m.ADD]
    deletes = [(m.ns, m.id) for m in markers if m.action == m.DELETE]
    assert sorted(adds) == [("axes", 6001), ("boxes", 6001), ("labels", 6001)]
    assert sorted(deletes) == [("axes", 1002), ("boxes", 1002), ("labels", 1002)]
    assert [m.text for m in markers if m.ns == "labels" and m.action == m.ADD] == ["mug_1 (tracked)"]


def test_poses_below_min_score_and_ended_tracks_are_not_published():
    objects = [replace(pose(), label=label, score=score) for label, score in ((1, 0.9), (2, 0.3), (3, None), (4, 0.8))]
    published, below = published_objects(FrameEstimate(objects=objects, ended=[4]), min_score=0.5)
    assert [o.label for o in published] == [1, 3] and below == 1
    assert published_objects(FrameEstimate(objects=objects), min_score=0.0) == (objects, 0)


def test_the_score_in_the_pose_and_the_marker_text():
    header = Header(frame_id="cam")
    scored = messages.PublishedObject(replace(pose(), score=0.734), "mug_1")
    assert messages.detection_array(header, [scored]).detections[0].results[0].hypothesis.score == pytest.approx(0.734)
    (_, _, text) = messages.marker_array(header, [scored], gone=[]).markers
    assert text.text == "mug_1 (new) 0.73"
    unscored = messages.PublishedObject(pose(), "mug_1")  # a checkpoint without a calibration
    assert messages.detection_array(header, [unscored]).detections[0].results[0].hypothesis.score == messages.UNSCORED


def test_overlay_draws_boxes():
    depth = np.full((SMALL.height, SMALL.width), 0.7, np.float32)
    depth[0, 0] = 0.0
    o = pose()
    o.t = np.array([0.0, 0.0, 0.7])
    image = depth_overlay(depth, [messages.PublishedObject(o, "mug_1")], SMALL)
    assert image.shape == (24, 32, 3) and image.dtype == np.uint8
    assert (image == (255 * np.array(messages.COLOURS["mug"])).astype(np.uint8)).all(-1).sum() > 20
    assert (image[0, 0] == 0).all()


# ----------------------------------------------------------------------------- names
# (tracking itself, by label or by centroid, is the engine's: test_estimator.py)


def test_track_names():
    assert messages.track_name("mug", 6003, LabelEncoding.PANOPTIC) == "mug_3"
    assert messages.track_name("mug", 7, LabelEncoding.INSTANCE) == "mug_7"
