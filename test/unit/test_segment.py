"""Object pixels from boxes and class maps (posediff_ros/segment), on ray-cast table scenes."""

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from posediff_ros.categories import NOCS_CATEGORIES
from posediff_ros.geometry import Intrinsics
from posediff_ros.segment.boxes import PLANE_TOLERANCE, Box, box_objects, support_plane
from posediff_ros.segment.classes import ClassMap
from posediff_ros.segment.components import depth_components, merge_fragments
from posediff_ros.segment.detector_ids import DetectorIds
from posediff_ros.segment.semantic import semantic_instances
from posediff_ros.segment.simulated import BoxJitter, SimulatedSource, mask_boxes, truth_labels

REPO = Path(__file__).resolve().parents[2]
CAMERA = Intrinsics(300.0, 300.0, 159.5, 119.5, 320, 240)
MUG = NOCS_CATEGORIES.by_name("mug").id
BOTTLE = NOCS_CATEGORIES.by_name("bottle").id


def rays(intrinsics: Intrinsics = CAMERA) -> np.ndarray:
    """(H, W, 3) viewing rays with z = 1, so that a ray's parameter is the pixel's depth."""
    v, u = np.mgrid[0 : intrinsics.height, 0 : intrinsics.width].astype(float)
    return np.stack(((u - intrinsics.cx) / intrinsics.fx, (v - intrinsics.cy) / intrinsics.fy, np.ones_like(u)), -1)


class TableScene:
    """A table seen from above at an angle, with upright cylinders standing on it (ray-cast depth).

    The table is the plane through TABLE_POINT with normal `up` (towards the camera).
    """

    up = np.array([0.0, -np.cos(np.radians(50)), -np.sin(np.radians(50))])
    table_point = np.array([0.0, 0.1, 0.7])

    def __init__(self, cylinders: list[tuple[float, float, float, float]]):
        """cylinders: (x, z_offset along the table's depth direction, radius, height) each, metres."""
        forward = np.cross(self.up, np.array([1.0, 0.0, 0.0]))  # along the table, away from the camera
        self.cylinders = [
            (self.table_point + x * np.array([1.0, 0.0, 0.0]) + d * forward, r, h) for x, d, r, h in cylinders
        ]

    def render(self) -> tuple[np.ndarray, np.ndarray]:
        """(depth (H, W) metres, index (H, W): 0 table, i + 1 cylinder i)."""
        d = rays()
        depth = (self.table_point @ self.up) / (d @ self.up)
        depth = np.where(depth > 0, depth, np.inf)
        index = np.zeros(depth.shape, dtype=np.int32)
        for i, (base, r, h) in enumerate(self.cylinders):
            with np.errstate(invalid="ignore"):  # rays that miss: inf * 0
                hits = list(self._hits(d, base, r, h))
            for s in hits:
                closer = s < depth
                depth, index = np.where(closer, s, depth), np.where(closer, i + 1, index)
        return np.where(np.isfinite(depth), depth, 0.0).astype(np.float32), index

    def _hits(self, d, base, r, h):
        n = self.up
        d_perp = d - (d @ n)[..., None] * n
        c_perp = base - (base @ n) * n
        a, b, c = (d_perp**2).sum(-1), -2 * (d_perp @ c_perp), c_perp @ c_perp - r**2
        disc = b**2 - 4 * a * c
        side = np.where(disc >= 0, (-b - np.sqrt(np.maximum(disc, 0))) / (2 * a), np.inf)
        height = side[..., None] * d @ n - base @ n
        yield np.where((height >= 0) & (height <= h), side, np.inf)
        cap = (base @ n + h) / (d @ n)
        radial = cap[..., None] * d - (base + h * n)
        yield np.where(np.linalg.norm(radial, axis=-1) <= r, cap, np.inf)


def tight_box(mask: np.ndarray) -> Box:
    return mask_boxes(mask.astype(np.int32))[1]


# --------------------------------------------------------------------------- boxes


def test_a_box_gives_the_object_without_the_table():
    """Inside a (jittered) box: the cylinder's pixels, none of the table's, though the table fills the corners."""
    depth, index = TableScene([(0.0, 0.0, 0.04, 0.12)]).render()
    truth = index == 1
    box = tight_box(truth)
    for jittered in (box, Box(box.u + 4, box.v - 4, box.width * 1.08, box.height * 0.92)):
        found = box_objects(depth, CAMERA, [jittered], [6000], min_points=50).labels == 6000
        inside = jittered.centre_weight(*np.meshgrid(np.arange(320), np.arange(240))) >= 0
        assert (inside & (index == 0)).sum() > 300  # the box does hold table pixels
        assert (found & ~truth).sum() <= 0.01 * truth.sum()
        assert (found & truth).sum() >= 0.8 * (truth & inside).sum()  # the lowest centimetre goes with the table


def test_background_behind_the_object_is_left_out():
    """A taller cylinder behind the object, inside its box: a depth step apart, so not the object."""
    depth, index = TableScene([(0.0, 0.0, 0.04, 0.1), (0.03, 0.13, 0.06, 0.4)]).render()  # 3 cm apart
    box = tight_box(index == 1)
    found = box_objects(depth, CAMERA, [box], [6000], min_points=50).labels == 6000
    assert ((index == 2) & (box.centre_weight(*np.meshgrid(np.arange(320), np.arange(240))) >= 0)).sum() > 50
    assert (found & (index == 2)).sum() == 0
    assert (found & (index == 1)).sum() > 0.8 * (index == 1).sum()


def test_overlapping_boxes_give_each_pixel_to_the_nearer_object():
    depth, index = TableScene([(0.0, 0.0, 0.04, 0.1), (0.05, 0.1, 0.04, 0.15)]).render()
    front, back = tight_box(index == 1), tight_box(index == 2)
    labels = box_objects(depth, CAMERA, [back, front], [1000, 6000], min_points=50).labels
    both = (front.centre_weight(*np.meshgrid(np.arange(320), np.arange(240))) >= 0) & (
        back.centre_weight(*np.meshgrid(np.arange(320), np.arange(240))) >= 0
    )
    assert (both & (index == 1)).sum() > 50  # the boxes do overlap on the front object
    assert np.all(labels[both & (index == 1) & (labels != 0)] == 6000)
    assert ((labels == 1000) & (index == 2)).sum() > 0.7 * (index == 2).sum()


@pytest.mark.parametrize(
    ("box", "reason"),
    [
        (Box(float("nan"), 10, 5, 5), "NaN"),
        (Box(10, 10, 0, 5), "empty"),
        (Box(-50, 10, 20, 20), "outside the 320x240 image"),
        (Box(10, 10, 4, 4), "fewer than the minimum of 50"),
    ],
)
def test_unusable_boxes_are_skipped_with_the_reason(box, reason):
    depth, _ = TableScene([(0.0, 0.0, 0.04, 0.1)]).render()
    result = box_objects(depth, CAMERA, [box], [6000], min_points=50)
    assert reason in result.skipped[0]
    assert not result.labels.any()


def test_support_plane_is_found_among_outliers_and_only_below_the_object():
    rng = np.random.default_rng(3)
    normal = np.array([0.0, -0.6, -0.8])
    on_plane = rng.uniform(-0.3, 0.3, (800, 3))
    on_plane -= (on_plane @ normal + 0.5)[:, None] * normal  # n·X + 0.5 = 0
    on_plane += rng.normal(0, 0.002, on_plane.shape)
    outliers = rng.uniform(-0.3, 0.3, (400, 3)) + [0, 0, 0.8]
    above = on_plane[:100] + 0.05 * normal  # an object standing on it, on the camera's side
    found_normal, offset = support_plane(np.concatenate((on_plane, outliers)), above, rng)
    assert abs(abs(found_normal @ normal) - 1) < 1e-3 and abs(offset - 0.5) < PLANE_TOLERANCE / 2
    assert offset > 0  # the camera's side
    assert support_plane(np.concatenate((on_plane, outliers)), on_plane[:100] - 0.05 * normal, rng) is None  # in front
    assert support_plane(rng.normal(0, 0.2, (500, 3)) + [0, 0, 1], above, rng) is None


# --------------------------------------------------------------------------- class maps


def test_components_split_at_depth_steps_but_follow_slanted_surfaces():
    depth = np.tile(np.linspace(0.5, 0.8, 40, dtype=np.float32), (30, 1))  # a slanted plane: one part
    classes = np.ones_like(depth, dtype=np.int32)
    assert depth_components(depth, classes)[1] == 1
    depth[:, 20:] -= 0.1  # a 10 cm step: two parts, numbered in raster order
    parts, count = depth_components(depth, classes)
    assert count == 2 and parts[0, 0] == 1 and parts[0, 39] == 2
    classes[:, :20] = 2  # another class on each side: two parts even without the step
    assert depth_components(depth + np.where(np.arange(40) < 20, 0.1, 0)[None].astype(np.float32), classes)[1] == 2


def test_semantic_image_of_two_touching_mugs_gives_two_mugs():
    """One mug in front of the other, their pixels touching: one class, two instances."""
    depth, index = TableScene([(0.0, 0.0, 0.04, 0.1), (0.06, 0.08, 0.04, 0.1)]).render()
    classes = np.where(index > 0, MUG, 0)
    assert depth_components(np.ones_like(depth), classes)[1] == 1  # without depth, one blob
    found = semantic_instances(depth, classes, CAMERA, NOCS_CATEGORIES, min_pixels=50)
    labels = [label for label in np.unique(found.labels) if label]
    assert labels == [MUG * 1000, MUG * 1000 + 1]
    for i in (1, 2):  # each mug is one instance
        values, counts = np.unique(found.labels[index == i], return_counts=True)
        assert counts[values != 0].max() > 0.9 * (index == i).sum()


def test_semantic_ids_the_table_lacks_are_reported_and_small_parts_left_out():
    depth, index = TableScene([(0.0, 0.0, 0.04, 0.1)]).render()
    classes = np.where(index > 0, BOTTLE, 0)
    classes[:5, :5] = 42  # not a category
    classes[0, -3:] = MUG  # three pixels
    found = semantic_instances(depth, classes, CAMERA, NOCS_CATEGORIES, min_pixels=50)
    assert found.unknown == [42] and found.small == 1
    assert np.unique(found.labels).tolist() == [0, BOTTLE * 1000]


def test_detector_class_ids_map_to_categories():
    coco = ClassMap.load(REPO / "config" / "coco_classes.yaml", NOCS_CATEGORIES)
    assert coco.category("cup").name == "mug" and coco.category("41").name == "mug"
    assert coco.category("laptop").name == "laptop" and coco.category("bowl").name == "bowl"
    assert coco.category("person") is None
    assert coco.category("can").name == "can"  # the table's own names need no entry
    assert ClassMap.load("", NOCS_CATEGORIES).category("cup") is None
    with pytest.raises(ValueError, match="'tote', not a category"):
        ClassMap({"box": "tote"}, NOCS_CATEGORIES)


# --------------------------------------------------------------------------- evaluate's simulated inputs


def test_truth_labels_follow_the_largest_overlap_of_the_same_category():
    truth = np.array([[6001, 6001, 6002, 1000, 0]])
    found = np.array([[6000, 6000, 6000, 1005, 6003]])
    assert truth_labels(found, truth).tolist() == [[6001, 6001, 6001, 1000, 0]]


def test_jitter_is_bounded_and_seeded():
    box = Box(100.0, 80.0, 50.0, 20.0)
    jitter = BoxJitter.parse("4,0.08")
    moved = [jitter(box, np.random.default_rng(i)) for i in range(200)]
    assert max(abs(b.u - box.u) for b in moved) <= 4 and max(abs(b.width / box.width - 1) for b in moved) <= 0.08
    assert max(abs(b.u - box.u) for b in moved) > 3  # it does move
    assert jitter(box, np.random.default_rng(5)) == jitter(box, np.random.default_rng(5))
    with pytest.raises(ValueError, match="SHIFT,SCALE"):
        BoxJitter.parse("4")


@pytest.mark.parametrize("source", ["detections", "semantic"])
def test_simulated_sources_give_the_ground_truth_labels_back(source):
    depth, index = TableScene([(0.0, 0.0, 0.04, 0.1), (0.12, 0.05, 0.03, 0.15)]).render()
    mask = np.select([index == 1, index == 2], [6003, 1001], 0).astype(np.int32)
    simulated = SimulatedSource(source, BoxJitter(4, 0.08), NOCS_CATEGORIES, min_points=50)
    frame = SimpleNamespace(scene="scene_000", index=2, depth=depth, mask=mask, intrinsics=CAMERA)
    labels = simulated.labels(frame)
    assert np.unique(labels).tolist() == [0, 1001, 6003]
    for label in (1001, 6003):
        assert ((labels == label) & (mask == label)).sum() > 0.8 * (mask == label).sum()
    assert np.array_equal(labels, simulated.labels(frame))


def test_fragments_in_front_join_their_object_but_objects_behind_do_not():
    """A bowl-like object: its inside (large) and, nearer, its front wall (small) split at the rim;
    a small part of the same class 3 cm behind the inside (seen through a gap) stays apart."""
    depth = np.zeros((60, 80), np.float32)
    classes = np.zeros((60, 80), np.int32)
    depth[10:40, 10:50], classes[10:40, 10:50] = 0.60, 2  # the inside, 30 x 40 pixels
    depth[38:46, 10:50], classes[38:46, 10:50] = 0.57, 2  # the front wall, 3 cm nearer, below the rim
    depth[20:28, 25:35], classes[20:28, 25:35] = 0.63, 2  # something 3 cm behind the inside
    parts, count = depth_components(depth, classes)
    assert count == 3
    merged = merge_fragments(depth, parts, count, classes, CAMERA)
    assert merged[42, 30] == merged[15, 30] and merged[24, 30] != merged[15, 30]
    assert len(np.unique(merged[merged > 0])) == 2


def test_detector_ids_keep_their_label_and_id_less_detections_take_free_ones():
    ids = DetectorIds(max_missed=1)
    assert ids.labels([(6, "a"), (6, "b"), (1, "")]) == [6000, 6001, 1000]
    assert ids.labels([(6, "b"), (6, ""), (6, "a"), (6, "a")]) == [6001, 6002, 6000, 6003]  # a repeated id: a new label
    ids.labels([(6, "c")])  # "a" and "b" unseen for two frames: their labels are free again
    assert ids.labels([(6, "c")]) == [6002]
    assert ids.labels([(6, "d")]) == [6000]


def test_the_halves_of_one_object_in_a_box_are_joined():
    """A laptop seen from behind: its screen hides the hinge, so screen and base are two depth
    surfaces, each half of the box; both are the object, the far background is not."""
    depth = np.full((240, 320), 2.0, np.float32)
    depth[100:130, 120:200] = 0.55  # the screen's back
    depth[130:150, 120:200] = 0.65  # the base beyond it, seen below (10 cm step)
    box = Box(159.5, 124.5, 80.0, 50.0)
    labels = box_objects(depth, CAMERA, [box], [5000], min_points=50).labels
    assert (labels[100:150, 120:200] == 5000).all()
    assert (labels == 5000).sum() == 50 * 80
