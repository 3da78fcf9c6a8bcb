"""Over DDS: a segmenter with unstable instance labels, tracked by nearest centroid.

The node runs with `label_encoding: instance` (every object is a mug) and `track_by:
centroid`. Between two consecutive frames the test permutes the instance labels; the
objects must keep their ids and be sampled in tracking mode on the second frame. With
`max_jump` below the distance between any two objects, tracking mode is only possible
when each object was matched to its own track, so "all tracked" checks the association.
"""

import numpy as np
import pytest
from test_node_dds import Harness, K, synthetic_frames, topics_under

from posediff_ros.geometry import backproject

MAX_JUMP = 0.08


def instance_labels(labels: np.ndarray, order: list[int]) -> np.ndarray:
    """Panoptic labels -> instance ids 1..n, numbered in the given order of panoptic labels."""
    out = np.zeros_like(labels)
    for instance_id, panoptic in enumerate(order, start=1):
        out[labels == panoptic] = instance_id
    return out


@pytest.fixture(scope="module")
def node(untrained_params, start_module_node):
    return start_module_node(
        params=untrained_params(
            label_encoding="instance",
            instance_category="mug",
            track_by="centroid",
            track_gate="0.1",
            max_jump=str(MAX_JUMP),
        ),
        remap=topics_under("/centroid"),
    )


def test_permuted_labels_keep_their_tracks(node):
    frames = synthetic_frames(count=2)
    (depth0, labels0, visible0), (depth1, labels1, _) = frames
    order = [i.label for i in visible0]

    # The premise (this seed's scene): each object's centroid moves well under MAX_JUMP
    # between the frames, and any two objects are much further apart than that.
    c0 = [backproject(depth0, labels0 == label, K).mean(0) for label in order]
    c1 = [backproject(depth1, labels1 == label, K).mean(0) for label in order]
    assert max(np.linalg.norm(a - b) for a, b in zip(c0, c1, strict=True)) < MAX_JUMP / 2
    assert min(np.linalg.norm(a - b) for i, a in enumerate(c0) for j, b in enumerate(c1) if i != j) > 2 * MAX_JUMP

    ros = Harness("posediff_test_centroid", "/centroid", poses_topic="/centroid/object_poses")
    try:
        ros.wait_connected()
        first = ros.poses_for(ros.publish(depth0, instance_labels(labels0, order)))
        permuted = order[1:] + order[:1]
        second_header = ros.publish(depth1, instance_labels(labels1, permuted))
        second = ros.poses_for(second_header)
        assert {d.id for d in second.detections} == {d.id for d in first.detections}
        assert all(d.results[0].hypothesis.class_id == "mug" for d in second.detections)
        labels = [m.text for m in ros.markers_for(second_header) if m.ns == "labels"]
        assert len(labels) == len(order) and all(text.endswith("(tracked)") for text in labels), labels
    finally:
        ros.close()
