"""Rendering, scenes and noise: labels back-project onto the true surfaces, frames are right."""

from itertools import pairwise

import numpy as np
import pytest
import trimesh
from scipy.spatial import cKDTree

from posediff_ros.data import shapes as S
from posediff_ros.data.families import HELD_OUT
from posediff_ros.data.noise import DepthNoise, MaskNoise
from posediff_ros.data.render import SceneRenderer, crop_intrinsics, label_image, render_frame
from posediff_ros.data.scene import (
    Y_UP_TO_Z_UP,
    Scene,
    SceneConfig,
    SceneObject,
    add_occluders,
    camera_trajectory,
    look_at,
    sample_camera,
    sample_scene,
)
from posediff_ros.geometry import REAL275_INTRINSICS, Intrinsics, backproject

OFF = (DepthNoise(enabled=False), MaskNoise(enabled=False))
PLAIN = SceneConfig(truncation_prob=0.0, occluder_prob=0.0, dense_prob=0.0)


def scaled(k: float) -> Intrinsics:
    i = REAL275_INTRINSICS
    return Intrinsics(i.fx * k, i.fy * k, i.cx * k, i.cy * k, round(i.width * k), round(i.height * k))


def plane_scene(vertices):
    """A scene whose only geometry is one quad (background)."""
    mesh = S.Mesh(np.asarray(vertices, float), np.array([[0, 1, 2], [0, 2, 3]], np.int32), np.zeros(2, np.int8))
    return Scene([], [mesh])


def camera_at_origin():
    from posediff_ros.data.scene import CameraPose

    return CameraPose(np.eye(3), np.zeros(3))


def test_depth_is_z_through_pixel_centres():
    intr = Intrinsics(100.0, 100.0, 40.3, 30.0, 80, 60)
    # Tilted plane z = 1 + 0.5 x covering the right half of the view (x >= 0) only.
    quad = [[0, -5, 1], [5, -5, 3.5], [5, 5, 3.5], [0, 5, 1]]
    r = SceneRenderer(plane_scene(quad)).render(camera_at_origin(), intr)
    # Pixel centres at integer u: column 40 sees x < 0 (miss), column 41 x > 0 (hit).
    assert (r.depth[:, :41] == 0).all() and (r.depth[:, 41:] > 0).all()
    u = np.arange(41, 80)
    expected = 1.0 / (1.0 - 0.5 * (u - intr.cx) / intr.fx)  # depth along z, not ray length
    np.testing.assert_allclose(r.depth[30, 41:], expected, rtol=1e-5)
    # Incidence: the plane's normal is (-0.5, 0, 1)/|.|.
    n = np.array([-0.5, 0, 1]) / np.sqrt(1.25)
    d = np.array([(60 - intr.cx) / intr.fx, 0, 1])
    assert r.cos_incidence[30, 60] == pytest.approx(abs(n @ d) / np.linalg.norm(d), abs=1e-5)


def test_crop_sees_the_same_rays():
    rng = np.random.default_rng(2)
    scene = sample_scene(rng)
    camera = sample_camera(rng, scene)
    renderer = SceneRenderer(scene)
    intr = scaled(0.25)
    full = renderer.render(camera, intr)
    box = (20, 10, 97, 71)
    crop = renderer.render(camera, crop_intrinsics(intr, box))
    np.testing.assert_allclose(crop.depth, full.depth[10:71, 20:97], rtol=1e-5)
    strided = renderer.render(camera, crop_intrinsics(intr, box, stride=3, offset=(1, 2)))
    np.testing.assert_allclose(strided.depth, full.depth[12:71:3, 21:97:3], rtol=1e-5)


def surface_tree(shape, rng):
    """KD-tree of dense samples on the canonical surface, and the sample spacing (m)."""
    tm = trimesh.Trimesh(shape.mesh.vertices, shape.mesh.faces, process=False)
    n = 200_000
    points, _ = trimesh.sample.sample_surface(tm, n, seed=int(rng.integers(1 << 31)))
    return cKDTree(points), np.sqrt(tm.area / n)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_labels_backproject_onto_true_surfaces(seed):
    rng = np.random.default_rng(seed)
    scene = sample_scene(rng)
    renderer = SceneRenderer(scene)
    intr = scaled(0.25)
    camera = sample_camera(rng, scene)
    frame = render_frame(renderer, camera, intr, rng, *OFF)
    labels = frame.labels
    # Masks and depth agree: an object pixel always has depth; every miss is background.
    assert (frame.depth[labels > 0] > 0).all() and (labels[frame.depth == 0] == 0).all()
    assert np.array_equal(labels, label_image(frame.rendering, scene))
    checked = 0
    for inst in frame.instances:
        obj = next(o for o in scene.objects if o.label == inst.label)
        p = backproject(frame.depth, labels == inst.label, intr).astype(float)
        x = (p - inst.t) @ inst.R  # camera -> object frame
        tree, spacing = surface_tree(obj.shape, rng)
        d, _ = tree.query(x)
        tolerance = 2 * spacing + 2e-4
        assert d.max() < tolerance, (inst.label, d.max())
        # Control: a pose 5 mm off along the optical axis does not fit (the check can fail).
        d_off, _ = tree.query((p - inst.t - [0, 0, 0.005]) @ inst.R)
        assert d_off.max() > tolerance
        checked += len(p)
    assert checked > 0


def test_noisy_depth_stays_near_the_surface():
    rng = np.random.default_rng(4)
    scene = sample_scene(rng)
    intr = scaled(0.5)
    noise = DepthNoise()
    frame = render_frame(SceneRenderer(scene), sample_camera(rng, scene), intr, rng, noise, MaskNoise(enabled=False))
    clean, r = frame.rendering.depth, frame.rendering
    valid = frame.depth > 0
    assert (frame.depth[clean == 0] == 0).all()
    z = clean[valid]
    bound = 5 * noise.sigma(z, r.cos_incidence[valid]) + noise.quantisation_step(z + 0.05, intr.fx)
    assert (np.abs(frame.depth[valid] - z) <= bound).all()
    assert 0.0 < valid.sum() < (clean > 0).sum()  # dropout happened, not everywhere


def test_depth_noise_statistics_and_dropout():
    rng = np.random.default_rng(0)
    intr = Intrinsics(300.0, 300.0, 100.0, 100.0, 200, 200)
    depth = np.full((200, 200), 0.9, np.float32)
    depth[:, 100:] = 0.6  # a 30 cm step: an edge at columns 99/100
    cos = np.ones_like(depth)
    cos[:100, :100] = np.cos(np.deg2rad(88.0))  # a grazing patch
    noise = DepthNoise(baseline=0.0, speckle_dropout=0.0)
    noisy = noise(depth, cos, intr.fx, rng)
    flat = (slice(110, 200), slice(110, 200))
    ratio = (noisy[flat] - depth[flat]) / noise.sigma(depth[flat], cos[flat])
    assert 0.9 < ratio.std() < 1.1 and abs(ratio.mean()) < 0.05
    edge = noisy[100:, 99:101]
    assert 0.4 < (edge == 0).mean() < 0.8  # edge_dropout = 0.6
    assert (noisy[5:95, 5:95] == 0).mean() > 0.8  # grazing surfaces drop out
    assert (noisy[flat] == 0).mean() == 0.0
    # Quantisation: with a baseline, depths take only disparity-quantised values.
    q = DepthNoise(edge_dropout=0, grazing_dropout=0, speckle_dropout=0, sigma_base=0, sigma_quadratic=0, sigma_angle=0)
    out = q(depth, np.ones_like(depth), intr.fx, rng)
    disparity = 300.0 * 0.05 / out[flat]
    np.testing.assert_allclose(disparity * 8, np.round(disparity * 8), atol=1e-3)
    assert np.array_equal(DepthNoise(enabled=False)(depth, cos, intr.fx, rng), depth)


def test_mask_noise_erodes_dilates_and_bleeds():
    labels = np.zeros((120, 160), np.uint16)
    labels[30:90, 20:70] = 6000
    labels[40:80, 74:124] = 1000  # 4 px from the first: within bleeding reach
    rng = np.random.default_rng(1)
    changed = bled = 0
    for _ in range(40):
        out = MaskNoise(bleed_prob=0.3)(labels, rng)
        for label in (1000, 6000):
            a, b = labels == label, out == label
            iou = (a & b).sum() / (a | b).sum()
            assert iou > 0.5
            changed += iou < 1
        bled += ((labels == 1000) & (out == 6000)).any() or ((labels == 6000) & (out == 1000)).any()
    assert changed > 20 and bled > 0
    assert np.array_equal(MaskNoise(enabled=False)(labels, rng), labels)


def single_mug_scene():
    shape = S.sample_shape("mug", np.random.default_rng(0))
    obj = SceneObject(shape, 6000, Y_UP_TO_Z_UP, np.array([0.0, 0.0, 0.5 * shape.size[1]]))
    table = S.box((2, 2, 0.02), (0, 0, -0.01))
    return Scene([obj], [table]), obj


def test_mug_symmetric_iff_handle_hidden():
    scene, obj = single_mug_scene()
    renderer = SceneRenderer(scene)
    intr = scaled(0.5)
    rng = np.random.default_rng(0)
    # Canonical +x is world +x (Y_UP_TO_Z_UP keeps x): look from +x (handle in view) and
    # from -x, low (handle behind the body).
    front = render_frame(renderer, look_at(obj.t + [0.5, 0.0, 0.2], obj.t), intr, rng, *OFF)
    back = render_frame(renderer, look_at(obj.t + [-0.5, 0.0, 0.02], obj.t), intr, rng, *OFF)
    assert front.instances[0].symmetric is False and back.instances[0].symmetric is True
    # The handle pixels are where the canonical frame says: on +x of the object.
    inst = front.instances[0]
    handle = (front.rendering.part == S.HANDLE) & (front.labels == 6000)
    x = (backproject(front.depth, handle, intr) - inst.t) @ inst.R
    assert len(x) > 10 and (x[:, 0] > 0.0).all()


def test_mug_symmetric_when_its_handle_is_cut_off_or_occluded():
    scene, obj = single_mug_scene()
    # Seen from the front (canonical +z is world -y): the handle (+x) is on the image's right.
    camera = look_at(obj.t + [0.0, -0.5, 0.2], obj.t)
    intr = scaled(0.5)
    rng = np.random.default_rng(2)
    seen = render_frame(SceneRenderer(scene), camera, intr, rng, *OFF).instances[0]
    assert seen.symmetric is False
    # The right border through the body's axis: the handle lies outside the image.
    cut = Intrinsics(intr.fx, intr.fy, intr.width - 3.0, intr.cy, intr.width, intr.height)
    truncated = render_frame(SceneRenderer(scene), camera, cut, rng, *OFF)
    assert truncated.instances[0].symmetric is True and (truncated.labels == 6000).sum() > 100
    # A box between the camera and the handle hides it; the body stays in view.
    handle = obj.t + [obj.shape.size[0] / 2 - 0.015, 0.0, 0.0]
    blocker = S.box((0.05, 0.02, 0.3), handle + [0.0, -0.15, 0.0])
    occluded = render_frame(SceneRenderer(Scene(scene.objects, scene.background + [blocker])), camera, intr, rng, *OFF)
    assert occluded.instances[0].symmetric is True and (occluded.labels == 6000).sum() > 100


def test_handle_rule_agrees_between_full_frames_and_decimated_crops():
    scene, obj = single_mug_scene()
    renderer = SceneRenderer(scene)
    rng = np.random.default_rng(1)
    intr = REAL275_INTRINSICS
    for azimuth in np.deg2rad(np.arange(0, 360, 30)):
        eye = obj.t + [0.6 * np.cos(azimuth), 0.6 * np.sin(azimuth), 0.1]
        camera = look_at(eye, obj.t)
        full = render_frame(renderer, camera, intr, rng, *OFF).instances[0].symmetric
        crop = crop_intrinsics(intr, (200, 100, 440, 380), stride=2, offset=(1, 0))
        assert render_frame(renderer, camera, crop, rng, *OFF).instances[0].symmetric == full


def test_symmetric_flags_and_labels_per_category():
    rng = np.random.default_rng(7)
    for _ in range(4):
        scene = sample_scene(rng)
        frame = render_frame(SceneRenderer(scene), sample_camera(rng, scene), scaled(0.25), rng)
        present = set(np.unique(frame.labels).tolist())
        for inst in frame.instances:
            assert inst.label in present and inst.label // 1000 == inst.category
            if inst.category in (1, 2, 4):
                assert inst.symmetric
            if inst.category in (3, 5):
                assert not inst.symmetric


def test_distractors_are_background():
    rng = np.random.default_rng(9)
    config = SceneConfig(distractor_prob=1.0)
    seen = 0
    for _ in range(6):
        scene = sample_scene(rng, config)
        assert len(scene.background) > 2  # table, floor, distractors
        camera = sample_camera(rng, scene, config)
        with_d = render_frame(SceneRenderer(scene), camera, scaled(0.25), rng, *OFF)
        without = render_frame(
            SceneRenderer(Scene(scene.objects, scene.background[:2])), camera, scaled(0.25), rng, *OFF
        )
        occluder = with_d.depth < without.depth - 1e-4  # a distractor is in front here
        assert (with_d.labels[occluder] == 0).all()
        seen += occluder.sum()
        # Objects hidden by a distractor lose those pixels.
        assert ((without.labels > 0) & occluder).sum() == ((without.labels > 0) & (with_d.labels == 0)).sum()
    assert seen > 0


@pytest.mark.parametrize("config", [SceneConfig(), SceneConfig(dense_prob=1.0)])
def test_objects_rest_on_table_without_overlap(config):
    rng = np.random.default_rng(3)
    for _ in range(10):
        scene = sample_scene(rng, config)
        assert 1 <= len(scene.objects) <= 6
        prints = []
        for o in scene.objects:
            v = o.world_mesh().vertices
            assert v[:, 2].min() == pytest.approx(0.0, abs=1e-9)
            up = o.R[:, 1]  # canonical +y in the world
            assert up[2] > np.cos(np.deg2rad(SceneConfig.max_tilt_deg + 1e-6))
            c = 0.5 * (v[:, :2].min(0) + v[:, :2].max(0))
            prints.append((c, np.linalg.norm(v[:, :2] - c, axis=1).max()))
        for i in range(len(prints)):
            for j in range(i):
                assert np.linalg.norm(prints[i][0] - prints[j][0]) >= prints[i][1] + prints[j][1]


def test_cameras_and_trajectories():
    rng = np.random.default_rng(8)
    config = PLAIN
    scene = sample_scene(rng, config)
    poses = camera_trajectory(rng, scene, 30, config)
    for cam in poses:
        depression = np.rad2deg(np.arcsin(-cam.R[2, 2]))  # optical axis below the horizon
        assert config.elevation_deg[0] - 1e-6 <= depression <= config.elevation_deg[1] + 1e-6
        assert 0.4 * np.sin(np.deg2rad(20)) <= cam.t[2] <= 1.2 * np.sin(np.deg2rad(70)) + 0.08
        np.testing.assert_allclose(cam.R.T @ cam.R, np.eye(3), atol=1e-12)
        assert np.linalg.det(cam.R) == pytest.approx(1.0)
    steps = [np.linalg.norm(b.t - a.t) for a, b in pairwise(poses)]
    assert max(steps) < 0.06  # small motion between consecutive frames
    assert np.ptp(steps) < max(steps)  # eased: slow at the ends, faster in the middle
    assert steps[0] < 0.3 * max(steps)


def border_labels(labels):
    return set(np.unique(np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]]))) - {0}


def test_truncation_cuts_objects_at_the_border():
    intr = scaled(0.25)
    touching = {}
    for prob in (0.0, 1.0):
        config = SceneConfig(truncation_prob=prob, occluder_prob=0.0, dense_prob=0.0)
        rng = np.random.default_rng(6)
        hits = 0
        for _ in range(16):
            scene = sample_scene(rng, config)
            camera = sample_camera(rng, scene, config, intr)
            # Trajectories start from the same kind of view.
            assert len(camera_trajectory(rng, scene, 3, config, intr)) == 3
            frame = render_frame(SceneRenderer(scene), camera, intr, rng, *OFF)
            hits += bool(border_labels(frame.labels))
        touching[prob] = hits / 16
    assert touching[1.0] >= 0.75 and touching[1.0] > touching[0.0] + 0.3, touching


def test_occluders_stand_in_front_of_objects():
    config = SceneConfig(occluder_prob=1.0, truncation_prob=0.0)
    rng = np.random.default_rng(10)
    intr = scaled(0.25)
    occluded = 0
    for _ in range(12):
        scene = sample_scene(rng, config)
        camera = sample_camera(rng, scene, config, intr)
        with_occluder = add_occluders(rng, scene, [camera], config)
        assert with_occluder.objects == scene.objects
        extra = with_occluder.background[len(scene.background) :]
        prints = [(o.world_mesh().vertices[:, :2]) for o in scene.objects]
        for mesh in extra:
            v = mesh.vertices
            assert v[:, 2].min() == pytest.approx(0.0, abs=1e-9) and v[:, 2].max() < camera.t[2]
            centre = 0.5 * (v[:, :2].min(0) + v[:, :2].max(0))
            for p in prints:  # footprint circles apart: no intersection with an object
                c = 0.5 * (p.min(0) + p.max(0))
                gap = np.linalg.norm(c - centre) - np.linalg.norm(p - c, axis=1).max()
                assert gap >= np.linalg.norm(v[:, :2] - centre, axis=1).max() - 1e-9
        before = render_frame(SceneRenderer(scene), camera, intr, rng, *OFF).rendering.instance
        after = render_frame(SceneRenderer(with_occluder), camera, intr, rng, *OFF).rendering.instance
        assert ((after >= 0) & (after != before)).sum() == 0  # occluders are background
        occluded += any((after == i).sum() < 0.9 * (before == i).sum() for i in range(len(scene.objects)))
    assert occluded >= 6
    assert add_occluders(rng, scene, [camera], PLAIN) is scene


def test_family_split_holds_held_out_families_only():
    user = S.centred("can", S.cylinder(0.03, 0.0, 0.1), family="")
    config = SceneConfig(user_mesh_prob=1.0, categories=("can", "mug"))
    rng = np.random.default_rng(12)
    shapes = [o.shape for _ in range(6) for o in sample_scene(rng, config, "family", {"can": [user]}).objects]
    assert shapes and all(s.family == HELD_OUT[s.category] for s in shapes)  # user meshes too are left out
    trained = [o.shape for _ in range(6) for o in sample_scene(rng, config, "train", {"can": [user]}).objects]
    assert any(s is user for s in trained)
