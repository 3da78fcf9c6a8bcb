"""Procedural shapes: canonical frames of DESIGN.md, plausible sizes, the train/val split."""

import numpy as np
import pytest
from scipy.spatial import cKDTree

from posediff_ros.data import shapes as S

CATEGORIES = list(S.BUILDERS)

# Loose NOCS-like bounds (metres) on (x, y, z) extents: (low, high) per axis.
SIZE_BOUNDS = {
    "bottle": ((0.055, 0.11), (0.15, 0.30), (0.055, 0.11)),
    "bowl": ((0.12, 0.22), (0.05, 0.09), (0.12, 0.22)),
    "camera": ((0.10, 0.14), (0.07, 0.13), (0.07, 0.18)),
    "can": ((0.05, 0.08), (0.08, 0.15), (0.05, 0.08)),
    "laptop": ((0.25, 0.38), (0.12, 0.30), (0.15, 0.46)),  # z: base + screen leaning back
    "mug": ((0.08, 0.16), (0.08, 0.11), (0.07, 0.12)),
}


def shapes_of(category, n=12, split="train", seed=0):
    rng = np.random.default_rng([seed, len(category)])
    return [S.sample_shape(category, rng, split) for _ in range(n)]


@pytest.mark.parametrize("category", CATEGORIES)
@pytest.mark.parametrize("split", ["train", "val"])
def test_origin_is_bbox_centre_and_size_is_extent(category, split):
    for shape in shapes_of(category, 6, split):
        v = shape.mesh.vertices
        np.testing.assert_allclose(v.min(0) + v.max(0), 0.0, atol=1e-12)
        np.testing.assert_allclose(v.max(0) - v.min(0), shape.size, atol=1e-12)
        assert shape.mesh.faces.max() < len(v) and len(shape.mesh.parts) == len(shape.mesh.faces)


@pytest.mark.parametrize("category", CATEGORIES)
def test_sizes_are_plausible_and_varied(category):
    sizes = np.array([s.size for s in shapes_of(category, 30)])
    for axis, (lo, hi) in enumerate(SIZE_BOUNDS[category]):
        assert sizes[:, axis].min() >= lo and sizes[:, axis].max() <= hi, (
            axis,
            sizes[:, axis].min(),
            sizes[:, axis].max(),
        )
    # Real intra-category variation, not one shape with jitter.
    assert (sizes.max(0) - sizes.min(0) > 0.15 * sizes.mean(0)).sum() >= 2


def _rotate_y(v, angle):
    c, s = np.cos(angle), np.sin(angle)
    return v @ np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]]).T


@pytest.mark.parametrize("category", ["bottle", "bowl", "can"])
def test_symmetric_categories_are_symmetric_about_y(category):
    for shape in shapes_of(category, 4):
        v = shape.mesh.vertices
        # Rotating by a quarter turn (the lathe has 48 segments) maps vertices onto vertices.
        d, _ = cKDTree(v).query(_rotate_y(v, np.pi / 2))
        assert d.max() < 1e-9
        # The axis is +y through the origin: the profile radius does not depend on the angle.
        assert abs(v[:, 0].mean()) < 1e-9 and abs(v[:, 2].mean()) < 1e-9


def test_mug_body_symmetric_and_handle_on_plus_x():
    for shape in shapes_of("mug", 8):
        m = shape.mesh
        handle = np.unique(m.faces[m.parts == S.HANDLE])
        body = np.unique(m.faces[m.parts == S.BODY])
        vb, vh = m.vertices[body], m.vertices[handle]
        axis_x = 0.5 * (vb[:, 0].min() + vb[:, 0].max())
        radius = 0.5 * (vb[:, 0].max() - vb[:, 0].min())
        # Body: a surface of revolution about a vertical line (parallel to +y) at x = axis_x.
        d, _ = cKDTree(vb - [axis_x, 0, 0]).query(_rotate_y(vb - [axis_x, 0, 0], np.pi / 2))
        assert d.max() < 1e-9
        # Handle: on +x, in the x-y plane, reaching beyond the body; nothing reaches further.
        assert vh[:, 0].min() > axis_x + 0.5 * radius
        assert vh[:, 0].max() == pytest.approx(m.vertices[:, 0].max())
        assert vh[:, 0].max() > axis_x + radius + 0.01
        assert abs(vh[:, 2].mean()) < 1e-9
        # Opening at +y: the body's top rim is a ring (no vertex on the axis at the top).
        top = vb[vb[:, 1] > vb[:, 1].max() - 1e-9]
        assert np.hypot(top[:, 0] - axis_x, top[:, 2]).min() > 0.5 * radius


def test_bottle_opening_at_plus_y():
    for shape in shapes_of("bottle", 6):
        v = shape.mesh.vertices
        r = np.hypot(v[:, 0], v[:, 2])
        top, bottom = v[:, 1] > 0.4 * shape.size[1], v[:, 1] < -0.3 * shape.size[1]
        assert r[top].max() < 0.8 * r[bottom].max()  # the neck is up


def test_laptop_frame():
    for shape in shapes_of("laptop", 8):
        m, p = shape.mesh, shape.params
        base = m.vertices[np.unique(m.faces[m.parts == S.BODY])]
        screen = m.vertices[np.unique(m.faces[m.parts == S.SCREEN])]
        lo, hi = m.vertices.min(0), m.vertices.max(0)
        # Base in the x-z plane at the bottom, spanning the full width.
        assert base[:, 1].min() == pytest.approx(lo[1]) and np.ptp(base[:, 1]) == pytest.approx(p["base_thickness"])
        assert np.ptp(base[:, 0]) == pytest.approx(shape.size[0])
        # Screen rises from the hinge at the back (-z) edge of the base to the top.
        assert screen[:, 1].max() == pytest.approx(hi[1])
        hinge = screen[screen[:, 1] < base[:, 1].max() + 0.003]
        assert np.abs(hinge[:, 2] - base[:, 2].min()).max() < p["screen_thickness"] + 0.003
        # The opening angle between keyboard (+z) and screen is the one asked for.
        top = screen[screen[:, 1] > screen[:, 1].max() - 0.003]
        rise = np.array([top[:, 1].mean() - base[:, 1].max(), top[:, 2].mean() - hinge[:, 2].mean()])
        assert np.rad2deg(np.arctan2(rise[0], rise[1])) == pytest.approx(p["opening_deg"], abs=3.0)


def test_camera_lens_along_plus_z():
    for shape in shapes_of("camera", 8):
        m = shape.mesh
        lens = m.vertices[np.unique(m.faces[m.parts == S.LENS])]
        body = m.vertices[np.unique(m.faces[m.parts == S.BODY])]
        assert lens[:, 2].max() == pytest.approx(m.vertices[:, 2].max())  # lens is the front
        assert lens[:, 2].min() > body[:, 2].min()
        # Lens is a set of circles about a line parallel to z.
        centre = 0.5 * (lens[:, :2].min(0) + lens[:, :2].max(0))
        r = np.linalg.norm(lens[:, :2] - centre, axis=1)
        assert np.ptp(r[r > 1e-9]) < 0.5 * r.max()


@pytest.mark.parametrize("category", CATEGORIES)
def test_split_rule(category):
    rng = np.random.default_rng(3)
    for split, want in (("train", "train"), ("val", "val"), ("test", "val")):
        for _ in range(20):
            params = S.sample_params(category, rng, split)
            assert S.split_of(category, params) == want
            for name, (lo, hi) in S.PARAMETERS[category].items():
                assert lo <= params[name] <= hi
    u = np.random.default_rng(4).random((4000, len(S.PARAMETERS[category])))
    held_out = np.mean([S.split_of_unit(x) == "val" for x in u])
    assert 0.15 < held_out < 0.26


def test_same_rng_same_mesh():
    a = S.sample_shape("mug", np.random.default_rng(11))
    b = S.sample_shape("mug", np.random.default_rng(11))
    assert np.array_equal(a.mesh.vertices, b.mesh.vertices) and np.array_equal(a.mesh.faces, b.mesh.faces)


def test_load_mesh_recentres_and_scales(tmp_path):
    trimesh = pytest.importorskip("trimesh")
    path = tmp_path / "box.obj"
    trimesh.creation.box(extents=(40.0, 100.0, 60.0)).apply_translation((5.0, 50.0, 0.0)).export(path)
    shape = S.load_mesh(path, "can", scale=0.001)
    np.testing.assert_allclose(shape.size, (0.04, 0.1, 0.06), atol=1e-9)
    v = shape.mesh.vertices
    np.testing.assert_allclose(v.min(0) + v.max(0), 0.0, atol=1e-12)


def test_distractors_stand_on_y0():
    rng = np.random.default_rng(5)
    for _ in range(9):
        v = S.sample_distractor(rng).vertices
        assert v[:, 1].min() == pytest.approx(0.0, abs=1e-12) and 0.02 < np.ptp(v, axis=0).max() < 0.3
