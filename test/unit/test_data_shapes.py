"""Procedural shapes: canonical frames of docs/conventions.md §2 for every family, plausible sizes, the splits."""

import numpy as np
import pytest
from scipy.spatial import cKDTree

from posediff_ros.data import shapes as S
from posediff_ros.data.families import FAMILIES, HELD_OUT

CATEGORIES = list(FAMILIES)
ALL_FAMILIES = [(c, f) for c in FAMILIES for f in FAMILIES[c]]

# Loose bounds (metres) on (x, y, z) extents over all families: (low, high) per axis.
SIZE_BOUNDS = {
    "bottle": ((0.05, 0.11), (0.14, 0.30), (0.05, 0.11)),
    "bowl": ((0.12, 0.26), (0.035, 0.09), (0.12, 0.26)),
    "camera": ((0.055, 0.15), (0.04, 0.14), (0.025, 0.235)),  # z: body and lens
    "can": ((0.05, 0.115), (0.05, 0.15), (0.05, 0.115)),
    "laptop": ((0.24, 0.40), (0.008, 0.32), (0.16, 0.6)),  # y, z: opened 20-180 degrees
    "mug": ((0.08, 0.16), (0.07, 0.2), (0.06, 0.13)),
}


def shapes_of(category, family, n=8, seed=0):
    """n shapes of one family, drawn over its whole parameter range."""
    rng = np.random.default_rng([seed, len(category), len(family)])
    k = len(FAMILIES[category][family].parameters)
    return [S.make_shape(category, family, S.unit_to_params(category, family, rng.random(k))) for _ in range(n)]


def part_vertices(mesh, part):
    return mesh.vertices[np.unique(mesh.faces[mesh.parts == part])]


@pytest.mark.parametrize("category, family", ALL_FAMILIES)
def test_origin_is_bbox_centre_and_size_is_extent(category, family):
    for shape in shapes_of(category, family, 6):
        v = shape.mesh.vertices
        np.testing.assert_allclose(v.min(0) + v.max(0), 0.0, atol=1e-12)
        np.testing.assert_allclose(v.max(0) - v.min(0), shape.size, atol=1e-12)
        assert shape.mesh.faces.max() < len(v) and len(shape.mesh.parts) == len(shape.mesh.faces)
        assert shape.category == category and shape.family == family
        tri = v[shape.mesh.faces]
        area = np.linalg.norm(np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]), axis=-1)
        assert area.min() > 0  # no degenerate triangles left for the ray caster


@pytest.mark.parametrize("category", CATEGORIES)
def test_sizes_are_plausible_and_varied(category):
    sizes = np.array([s.size for f in FAMILIES[category] for s in shapes_of(category, f, 12)])
    for axis, (lo, hi) in enumerate(SIZE_BOUNDS[category]):
        low, high = sizes[:, axis].min(), sizes[:, axis].max()
        assert lo <= low and high <= hi, (axis, low, high)
    # Real intra-category variation, not one shape with jitter.
    assert (sizes.max(0) - sizes.min(0) > 0.15 * sizes.mean(0)).sum() >= 2


def _rotate_y(v, angle):
    c, s = np.cos(angle), np.sin(angle)
    return v @ np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]]).T


@pytest.mark.parametrize("category, family", [(c, f) for c, f in ALL_FAMILIES if c in ("bottle", "bowl", "can")])
def test_symmetric_categories_are_symmetric_about_y(category, family):
    for shape in shapes_of(category, family, 4):
        v = shape.mesh.vertices
        # Rotating by a quarter turn (the lathe has 48 segments) maps vertices onto vertices.
        d, _ = cKDTree(v).query(_rotate_y(v, np.pi / 2))
        assert d.max() < 1e-9
        # The axis is +y through the origin: the profile radius does not depend on the angle.
        assert abs(v[:, 0].mean()) < 1e-9 and abs(v[:, 2].mean()) < 1e-9


@pytest.mark.parametrize("family", list(FAMILIES["bottle"]))
def test_bottle_opening_at_plus_y(family):
    for shape in shapes_of("bottle", family, 6):
        v = shape.mesh.vertices
        r = np.hypot(v[:, 0], v[:, 2])
        top, bottom = v[:, 1] > 0.4 * shape.size[1], v[:, 1] < -0.3 * shape.size[1]
        assert r[top].max() < 0.8 * r[bottom].max()  # the neck or cap is up


@pytest.mark.parametrize("family", list(FAMILIES["mug"]))
def test_mug_body_about_y_and_handle_on_plus_x(family):
    handles = set()
    for shape in shapes_of("mug", family, 16):
        m = shape.mesh
        vb, vh = part_vertices(m, S.BODY), part_vertices(m, S.HANDLE)
        axis_x = 0.5 * (vb[:, 0].min() + vb[:, 0].max())
        radius = 0.5 * (vb[:, 0].max() - vb[:, 0].min())
        # Body: about a vertical line (parallel to +y) at x = axis_x; round and square bodies
        # (48 segments) are both unchanged by a quarter turn.
        d, _ = cKDTree(vb - [axis_x, 0, 0]).query(_rotate_y(vb - [axis_x, 0, 0], np.pi / 2))
        assert d.max() < 1e-9
        # Handle: on +x, in the x-y plane, reaching beyond the body; nothing reaches further.
        assert vh[:, 0].min() > axis_x + 0.5 * radius
        assert vh[:, 0].max() == pytest.approx(m.vertices[:, 0].max())
        assert vh[:, 0].max() > axis_x + radius + 0.01
        assert abs(vh[:, 2].mean()) < 1e-9
        # The handle stays between the base and the top of the body.
        assert vb[:, 1].min() < vh[:, 1].min() and vh[:, 1].max() < vb[:, 1].max()
        if family != "travel":  # open at +y: the top rim is a ring (a travel mug has a lid)
            top = vb[vb[:, 1] > vb[:, 1].max() - 1e-9]
            assert np.hypot(top[:, 0] - axis_x, top[:, 2]).min() > 0.5 * radius
        handles.add("ring" if shape.params["ring"] < 0.3 else "d" if shape.params["handle_square"] < 4 else "square")
    assert handles == ({"d", "square"} if family == "travel" else {"ring", "d", "square"})


def _screen_direction(screen):
    """Unit (y, z) direction of a screen slab's long axis in the y-z plane (SVD), sign not fixed."""
    yz = screen[:, 1:] - screen[:, 1:].mean(0)
    return np.linalg.svd(yz, full_matrices=False)[2][0]


@pytest.mark.parametrize("family", list(FAMILIES["laptop"]))
def test_laptop_frame(family):
    openings = []
    for shape in shapes_of("laptop", family, 10):
        m, p = shape.mesh, shape.params
        base, screen = part_vertices(m, S.BODY), part_vertices(m, S.SCREEN)
        lo, hi = m.vertices.min(0), m.vertices.max(0)
        # Base in the x-z plane at the bottom, spanning the full width; thickest at the hinge.
        assert base[:, 1].min() == pytest.approx(lo[1]) and np.ptp(base[:, 0]) == pytest.approx(shape.size[0])
        back, front = base[base[:, 2] < base[:, 2].min() + 0.01], base[base[:, 2] > base[:, 2].max() - 0.01]
        assert np.ptp(back[:, 1]) >= np.ptp(front[:, 1]) - 1e-9
        # Screen: no lower than the keyboard, starting at the hinge, the back (-z) top edge of the base.
        assert screen[:, 1].max() == pytest.approx(hi[1]) and screen[:, 1].min() > base[:, 1].max() - 0.013
        hinge = np.array([base[:, 1].max(), base[:, 2].min()])
        assert np.linalg.norm(screen[:, 1:] - hinge, axis=1).min() < 0.0015  # within the screen's bevel
        # The keyboard (+z) side of the base lies in front of the screen.
        assert base[:, 2].max() > screen[:, 2].max()
        # The opening angle between keyboard (+z) and screen is the one asked for.
        d = _screen_direction(screen)
        d = d if d @ (screen[:, 1:].mean(0) - hinge) > 0 else -d
        assert np.rad2deg(np.arccos(np.clip(d[1], -1, 1))) == pytest.approx(p["opening_deg"], abs=1.0)
        openings.append(p["opening_deg"])
    assert min(openings) < 60 and max(openings) > 140


@pytest.mark.parametrize("family", list(FAMILIES["camera"]))
def test_camera_lens_along_plus_z(family):
    for shape in shapes_of("camera", family, 8):
        m = shape.mesh
        lens, body = part_vertices(m, S.LENS), part_vertices(m, S.BODY)
        assert lens[:, 2].max() == pytest.approx(m.vertices[:, 2].max())  # the lens is the front
        assert lens[:, 2].max() > body[:, 2].max() + 0.003 and lens[:, 2].min() > body[:, 2].min()
        # The lens is a surface of revolution about a line parallel to z (32 segments).
        axis = 0.5 * (lens[:, :2].min(0) + lens[:, :2].max(0))
        local = lens[:, [0, 2, 1]] - [axis[0], 0.0, axis[1]]  # z -> y: reuse the y-axis rotation
        d, _ = cKDTree(local).query(_rotate_y(local, np.pi / 2))
        assert d.max() < 1e-9
        # Top at +y: a button, dial, hump or shoe on top (the topmost millimetre is narrow), or
        # for an instant camera, a lens below the middle.
        if family == "instant":
            assert axis[1] < 0.5 * (body[:, 1].min() + body[:, 1].max())
        else:
            top = m.vertices[m.vertices[:, 1] > m.vertices[:, 1].max() - 0.001]
            assert np.ptp(top[:, 0]) < 0.5 * shape.size[0]


def test_slr_hump_over_the_lens_and_grip_on_the_right():
    for shape in shapes_of("camera", "slr", 6):
        m = shape.mesh
        lens, body = part_vertices(m, S.LENS), part_vertices(m, S.BODY)
        axis_x = 0.5 * (lens[:, 0].min() + lens[:, 0].max())
        top = body[body[:, 1] > body[:, 1].max() - 0.005]
        assert abs(top[:, 0].mean() - axis_x) < 0.01 and np.ptp(top[:, 0]) < 0.5 * shape.size[0]
        # In front of the body's front face (3 mm behind the lens' back): the grip, at the user's right (-x).
        front = body[body[:, 2] > lens[:, 2].min() + 0.005]
        assert len(front) and front[:, 0].max() < axis_x


@pytest.mark.parametrize("category", CATEGORIES)
def test_splits_and_the_held_out_family(category):
    rng = np.random.default_rng(3)
    held_out = HELD_OUT[category]
    assert held_out in FAMILIES[category] and len(FAMILIES[category]) >= 2
    seen = {}
    for split, want in (("train", "train"), ("val", "val"), ("test", "val"), ("family", "family")):
        families = set()
        for _ in range(60):
            family, params = S.sample_params(category, rng, split)
            drawn = "family" if family == held_out else S.split_of_unit(S.params_to_unit(category, family, params))
            assert drawn == want
            assert (family == held_out) == (split == "family")
            for name, (lo, hi) in FAMILIES[category][family].parameters.items():
                assert lo <= params[name] <= hi
            families.add(family)
        seen[split] = families
    assert seen["family"] == {held_out}
    assert seen["train"] == set(FAMILIES[category]) - {held_out}  # every other family is trained on
    for f in FAMILIES[category].values():
        u = np.random.default_rng(4).random((4000, len(f.parameters)))
        share = np.mean([S.split_of_unit(x) == "val" for x in u])
        assert 0.15 < share < 0.26


def test_train_never_yields_a_held_out_family():
    rng = np.random.default_rng(8)
    for category in CATEGORIES:
        assert all(S.sample_shape(category, rng, "train").family != HELD_OUT[category] for _ in range(150))
    with pytest.raises(ValueError):
        S.sample_params("mug", rng, "nonsense")


def test_same_rng_same_mesh():
    a = S.sample_shape("mug", np.random.default_rng(11))
    b = S.sample_shape("mug", np.random.default_rng(11))
    assert np.array_equal(a.mesh.vertices, b.mesh.vertices) and np.array_equal(a.mesh.faces, b.mesh.faces)


def test_load_mesh_recentres_and_scales(tmp_path):
    import trimesh  # a runtime requirement (the renderer)

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
