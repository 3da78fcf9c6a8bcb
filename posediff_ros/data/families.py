"""Shape families: the named sub-types of each category, their builders and parameter ranges.

Every builder returns a mesh in the canonical orientation of docs/conventions.md §2, in
metres, not yet centred (`shapes.centred` moves the bounding-box centre to the origin): +y
up; bottle, bowl, can and mug bodies about the y axis, base at y = 0; the mug handle on +x;
the laptop base in the x-z plane, keyboard up, hinge along x at the back edge (-z), screen
rising from it; the camera lens along +z with the top at +y and the hand grip on the user's
right (-x: the user stands behind the camera, at -z). A family's parameters map names to
(low, high) ranges; the first three decide the train/val cells of `shapes.split_of_unit`.

One family per category (`HELD_OUT`) is never used for train/val/test: it alone makes the
split `family`, which measures generalisation to a new kind of object.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .mesh import (
    BODY,
    HANDLE,
    SCREEN,
    Mesh,
    arc,
    barrel,
    box,
    circle,
    cylinder,
    front_prism,
    lathe,
    loft,
    prism,
    rounded_rect,
    smooth,
    superellipse,
    tube,
)


@dataclass(frozen=True)
class Family:
    build: Callable[[dict], Mesh]
    parameters: dict[str, tuple[float, float]]  # name -> (low, high); the first three decide the split cells


# --------------------------------------------------------------------------- bottle


def bottle(p: dict, segments: int = 48) -> Mesh:
    """Body, optional waist, a smooth shoulder into a neck, and a cap."""
    R, H = p["radius"], p["height"]
    rn = R * p["neck_ratio"]
    rc, hc = rn * p["cap_ratio"], p["cap_height"]
    f = p["base_fillet"]
    ys = min(H * p["shoulder_start"], H - hc - 0.02)
    yn = min(ys + H * p["shoulder_length"], H - hc - 0.01)
    fr, fy = arc(R - f, 0.0, R, f, 6)
    yb = np.linspace(f, ys, 12)[1:]
    rb = R * (1 + p["waist"] * np.sin(np.pi * (yb - f) / (ys - f)))
    s = np.linspace(0, 1, 12)[1:]
    rs, ysh = rn + (R - rn) * (1 - smooth(s)), ys + (yn - ys) * s
    r = np.concatenate(([0.0], fr, rb, rs, [rn, rn, rc, rc, 0.0]))
    y = np.concatenate(([0.0], fy, yb, ysh, [H - hc - 0.002, H - hc, H - hc, H, H]))
    return lathe(r, y, segments)


def squeeze_bottle(p: dict, segments: int = 48) -> Mesh:
    """A bulging body whose dome shoulder runs into a flip cap with a nozzle (no neck)."""
    R, H = p["radius"], p["height"]
    rc, hc, hn = R * p["cap_ratio"], p["cap_height"], p["nozzle"]
    f = p["base_fillet"]
    top = H - hc - hn  # where the dome meets the cap
    ys = min(H * p["shoulder_start"], top - 0.01)
    fr, fy = arc(R - f, 0.0, R, f, 6)
    yb = np.linspace(f, ys, 10)[1:]
    rb = R * (1 + p["bulge"] * np.sin(np.pi * (yb - f) / (ys - f)))
    dr, dy = arc(rc, top, R, ys, 12, p["dome"])  # from the cap down to the body
    r = np.concatenate(([0.0], fr, rb, dr[::-1][1:], [1.05 * rc, 1.05 * rc, 0.35 * rc, 0.2 * rc, 0.0]))
    y = np.concatenate(([0.0], fy, yb, dy[::-1][1:], [top, top + hc, top + hc, H, H]))
    return lathe(r, y, segments)


# --------------------------------------------------------------------------- bowl


def bowl(p: dict, segments: int = 48) -> Mesh:
    """A foot ring and a wall of superellipse profile (exponent 1: a straight, conical wall)."""
    R, h, t = p["radius"], p["height"], p["thickness"]
    rf, yf = R * p["foot_ratio"], p["foot_height"]
    ro, yo = arc(rf, yf, R, h, 16, p["wall_exponent"])
    ri, yi = arc(rf - t, yf + t, R - t, h, 16, p["wall_exponent"])
    r = np.concatenate(([0.0, rf + 0.004, rf], ro, ri[::-1], [0.0]))
    y = np.concatenate(([0.0, 0.0, yf], yo, yi[::-1], [yf + t]))
    return lathe(r, y, segments)


def rimmed_bowl(p: dict, segments: int = 48) -> Mesh:
    """A shallow well with a wide flat rim (a soup or pasta plate)."""
    R, h, t, rise = p["radius"], p["height"], p["thickness"], p["rim_rise"]
    rw = R - p["rim_width"]  # where the well meets the rim
    rf, yf = rw * p["foot_ratio"], p["foot_height"]
    yr = h - t - rise  # underside of the rim at the well
    ro, yo = arc(rf, yf, rw, yr, 14, p["wall_exponent"])
    ri, yi = arc(rf - t, yf + t, rw - t, yr + t, 14, p["wall_exponent"])
    r = np.concatenate(([0.0, rf + 0.004], ro, [R, R, rw], ri[::-1], [0.0]))
    y = np.concatenate(([0.0, 0.0], yo, [h - t, h, h - rise], yi[::-1], [yf + t]))
    return lathe(r, y, segments)


# --------------------------------------------------------------------------- can


def can(p: dict, segments: int = 48) -> Mesh:
    """A beverage can: tapered base, straight wall, necked top with a recessed lid."""
    R, H = p["radius"], p["height"]
    rn, hn = R - p["neck_depth"], p["neck_height"]
    rb = R - p["base_taper"]
    s = np.linspace(0, 1, 5)
    r = np.concatenate(
        ([0.0, rb - 0.002], rb + (R - rb) * smooth(s), R - (R - rn) * smooth(s), [rn - 0.001, rn - 0.003, 0.0])
    )
    y = np.concatenate(([0.002, 0.0], 0.0 + 0.006 * s, H - hn + hn * s, [H, H - p["recess"], H - p["recess"]]))
    return lathe(r, y, segments)


def food_can(p: dict, segments: int = 48) -> Mesh:
    """A food tin: rolled seams at both ends, recessed lids, ribbed wall."""
    R, H, b, rec = p["radius"], p["height"], p["bead"], p["recess"]
    ribs = int(p["ribs"])
    s = np.linspace(0.0, 1.0, 6 * ribs + 1)
    yw = 2 * b + (H - 4 * b) * s
    rw = R - p["rib_depth"] * (0.5 - 0.5 * np.cos(2 * np.pi * ribs * s))
    seam = R + 0.001
    r = np.concatenate(([0.0, R - 0.002, seam, seam], rw, [seam, seam, R - 0.002, 0.0]))
    y = np.concatenate(([rec, rec, 0.0, b], yw, [H - b, H, H - rec, H - rec]))
    return lathe(r, y, segments)


# --------------------------------------------------------------------------- mug

RING_SHARE = 0.3  # share of mugs with a small round ring handle instead of a D to square one


def _mug_handle(p: dict, wall_x: Callable[[np.ndarray], np.ndarray], height: float) -> Mesh:
    """Handle on +x in the x-y plane; its ends sink half a wall into the body (wall_x(y): outer wall)."""
    yc = height * p["handle_centre"]
    margin = p["handle_thickness"] + 0.002  # keeps the handle below the rim and above the base
    if p["ring"] < RING_SHARE:  # a ring attached over a short stretch, like a teacup's
        # ... on straight stubs: a tube end leaving the wall at a slant would poke into the cup.
        beta, stub = np.deg2rad(40.0), p["handle_thickness"]
        rh = min((p["handle_reach"] - stub) / (1 + np.cos(beta)), height - yc - margin, yc - margin)
        theta = np.linspace(np.pi - beta, beta - np.pi, 28)
        hy, dx = yc + rh * np.sin(theta), stub + rh * (np.cos(theta) + np.cos(beta))
        hy, dx = np.concatenate(([hy[0]], hy, [hy[-1]])), np.concatenate(([0.0], dx, [0.0]))
    else:  # half a superellipse: exponent ~2 a D, larger a square handle
        hh = min(height * p["handle_half_height"], height - yc - margin, yc - margin)
        theta = np.linspace(np.pi / 2, -np.pi / 2, 24)
        e = 2.0 / p["handle_square"]
        hy = yc + hh * np.sign(np.sin(theta)) * np.abs(np.sin(theta)) ** e
        dx = p["handle_reach"] * np.abs(np.cos(theta)) ** e
    path = np.stack((wall_x(hy) - 0.5 * p["wall"] + dx, hy, np.zeros_like(hy)), -1)
    return tube(path, p["handle_thickness"], 0.5 * p["handle_width"], part=HANDLE)


def _open_mug(p: dict, outline: np.ndarray) -> Mesh:
    """Hollow body of a cross-section `outline` (x extent 1 on +x), linearly tapered, and a handle."""
    Rb, H = p["radius"], p["height"]
    Rt = Rb * p["taper"]
    w, b = p["wall"], p["bottom"]

    def radius_at(y):
        return Rb + (Rt - Rb) * y / H

    r = np.array([0.0, Rb - 0.003, Rb, Rt, Rt - w, radius_at(b) - w, 0.0])
    y = np.array([0.0, 0.0, 0.003, H, H, b, b])
    return Mesh.concat([loft(r[:, None, None] * outline, y), _mug_handle(p, radius_at, H)])


def mug(p: dict, segments: int = 48) -> Mesh:
    """Round body, cylindrical or conical (taper = top / bottom radius)."""
    return _open_mug(p, circle(segments))


def square_mug(p: dict, segments: int = 48) -> Mesh:
    """Rounded-square body (a superellipse section, flat faces towards +-x and +-z)."""
    return _open_mug(p, superellipse(p["squareness"], segments))


def travel_mug(p: dict, segments: int = 48) -> Mesh:
    """Tall, wider at the top, a grip band and a closed lid."""
    Rb, H = p["radius"], p["height"]
    Rt, lid, band = Rb * p["taper"], p["lid_height"], p["band"]

    def radius_at(y):
        return Rb + (Rt - Rb) * y / H

    y0, y1 = 0.3 * H, 0.6 * H
    r = [0.0, Rb - 0.003, Rb, radius_at(y0), radius_at(y0) + band, radius_at(y1) + band, radius_at(y1), Rt]
    y = [0.0, 0.0, 0.003, y0, y0 + 0.003, y1 - 0.003, y1, H]
    r += [Rt + 0.002, Rt + 0.002, 0.8 * Rt, 0.0]
    y += [H, H + 0.6 * lid, H + lid, H + lid]
    return Mesh.concat([lathe(np.array(r), np.array(y), segments), _mug_handle(p, radius_at, H)])


# --------------------------------------------------------------------------- laptop


def _laptop(p: dict, back: float, front: float) -> Mesh:
    """Base of thickness `back` at the hinge tapering to `front`, and the screen at `opening_deg`.

    The screen's display face passes through the hinge line (y = back, z = -D/2); the
    screen is rotated about x so that it makes `opening_deg` with the keyboard (+z).
    """
    W, corner = p["width"], p["corner"]
    D = W * p["depth_ratio"]
    Ds, ts = D * p["screen_ratio"], p["screen_thickness"]
    base = prism(rounded_rect(0.5 * W, 0.5 * D, corner), 0.0, back, bevel=min(0.0015, 0.3 * front))
    v = base.vertices.copy()
    v[:, 1] *= (front + (back - front) * (0.5 - v[:, 2] / D)) / back  # thickness falls linearly towards +z
    alpha = np.deg2rad(p["opening_deg"])
    along = np.array([0.0, np.sin(alpha), np.cos(alpha)])  # from the hinge up the screen
    behind = np.array([0.0, np.cos(alpha), -np.sin(alpha)])  # from the display face to the lid's back
    R = np.stack((np.array([1.0, 0.0, 0.0]), behind, along), axis=1)
    outline = rounded_rect(0.4925 * W, 0.5 * Ds, corner)  # the lid is 1.5 % narrower than the base
    screen = prism(outline, 0.0, ts, bevel=min(0.001, 0.3 * ts), part=SCREEN).moved((0.0, 0.0, 0.5 * Ds))
    return Mesh.concat([Mesh(v, base.faces, base.parts), screen.transformed(R, (0.0, back, -0.5 * D))])


def laptop(p: dict) -> Mesh:
    """A slab base of even thickness."""
    return _laptop(p, p["base_thickness"], p["base_thickness"])


def wedge_laptop(p: dict) -> Mesh:
    """A base that tapers from the hinge to a thin front edge."""
    return _laptop(p, p["back_thickness"], p["front_thickness"])


# --------------------------------------------------------------------------- camera


def _body(w: float, h: float, d: float, corner: float, bevel: float = 0.002) -> Mesh:
    """Box body with rounded vertical edges (seen from the front), centred at the origin."""
    return front_prism(rounded_rect(0.5 * w, 0.5 * h, corner), -0.5 * d, 0.5 * d, bevel=bevel)


def _lens(x: float, y: float, z0: float, radius: float, length: float, front_ratio: float = 1.0) -> Mesh:
    """Lens along +z from the front face at z0: mount ring, barrel, front ring, recessed glass."""
    rf = radius * front_ratio
    g, m = length - min(0.3 * length, 0.006), 0.1 * length  # the glass sits behind the front ring
    z = z0 + np.array([-0.003, -0.003, m, m, 0.55 * length, 0.55 * length, length, length, g, g])
    r = np.array([0.0, 1.08 * radius, 1.08 * radius, radius, radius, rf, rf, 0.8 * rf, 0.8 * rf, 0.0])
    return barrel(r, z, (x, y))


def _knob(x: float, top: float, z: float, radius: float, height: float) -> Mesh:
    """A dial or button on a top face at height `top`."""
    return cylinder(radius, top - 0.002, top + height, 20).moved((x, 0.0, z))


def _grip(w: float, h: float, d: float, depth: float, share: float = 0.22) -> Mesh:
    """Hand grip on the front at the user's right (-x), `share` of the width."""
    gw = share * w
    outline = rounded_rect(0.5 * gw, 0.45 * h, 0.4 * gw)
    return front_prism(outline, 0.5 * d - 0.003, 0.5 * d + depth, (-0.5 * w + 0.5 * gw + 0.002, -0.02 * h), 0.003)


def compact_camera(p: dict) -> Mesh:
    """Thin rounded body, short lens barrel off to +x, a finger grip strip."""
    w, h, d = p["width"], p["height"], p["depth"]
    rl = min(p["lens_radius"], 0.42 * h)
    xl = min(p["lens_offset"] * w, 0.5 * w - 1.08 * rl - 0.004)
    parts = [_body(w, h, d, p["corner"] * 0.5 * h, 0.0015), _lens(xl, 0.0, 0.5 * d, rl, p["lens_length"])]
    parts.append(_knob(-0.3 * w, 0.5 * h, 0.0, 0.005, 0.003))  # shutter button
    if p["grip_depth"] > 0.001:
        parts.append(_grip(w, h, d, p["grip_depth"], 0.12))
    return Mesh.concat(parts)


def _hump(w: float, h: float, d: float, x: float, height: float, top_share: float) -> Mesh:
    """Viewfinder hump on the top face over x: a trapezoid seen from the front."""
    b, t = 0.18 * w, 0.18 * w * top_share
    outline = np.array([[-b, 0.0], [b, 0.0], [t, height], [-t, height]])
    centroid = outline.mean(0)
    return front_prism(outline - centroid, -0.4 * d, 0.3 * d, (x, 0.5 * h - 0.002 + centroid[1]), 0.002)


def slr_camera(p: dict) -> Mesh:
    """Deep body, pentaprism hump and eyepiece over a long lens, deep grip, dials on both shoulders."""
    w, h, d = p["width"], p["height"], p["depth"]
    xl, yl = 0.06 * w, -0.06 * h
    rl = min(p["lens_radius"], (0.5 * h - abs(yl)) / 1.1)
    hump = p["hump_height"]
    return Mesh.concat(
        [
            _body(w, h, d, p["corner"] * 0.5 * h),
            _lens(xl, yl, 0.5 * d, rl, p["lens_length"], p["front_ratio"]),
            _grip(w, h, d, p["grip_depth"]),
            _hump(w, h, d, xl, hump, 0.55),
            box((0.16 * w, 0.6 * hump, 0.012), (xl, 0.5 * h + 0.45 * hump, -0.5 * d - 0.004)),  # eyepiece
            _knob(-0.33 * w, 0.5 * h, 0.0, 0.011, 0.006),
            _knob(0.33 * w, 0.5 * h, 0.0, 0.012, 0.007),
        ]
    )


def mirrorless_camera(p: dict) -> Mesh:
    """Flatter than an SLR, large lens mount, grip, a small viewfinder hump on about half of them."""
    w, h, d = p["width"], p["height"], p["depth"]
    xl = p["lens_offset"] * w
    rl = min(p["lens_radius"], 0.44 * h)
    parts = [
        _body(w, h, d, p["corner"] * 0.5 * h),
        _lens(xl, 0.0, 0.5 * d, rl, p["lens_length"], p["front_ratio"]),
        _grip(w, h, d, p["grip_depth"]),
        _knob(-0.3 * w, 0.5 * h, 0.0, 0.01, 0.005),
    ]
    if p["evf"] > 0.5:  # an SLR-like viewfinder hump, smaller; else the flat top of a rangefinder-style body
        parts.append(_hump(w, h, d, xl, 0.16 * h, 0.7))
    return Mesh.concat(parts)


def action_camera(p: dict) -> Mesh:
    """Small rounded cube with a short lens in a square housing near a top corner."""
    w, h, d = p["width"], p["height"], p["depth"]
    rl, length = p["lens_radius"], p["lens_length"]
    s = 1.45 * rl  # half side of the square lens housing
    xl = min(p["lens_x"] * w, 0.5 * w - s - 0.002)
    yl = min(p["lens_y"] * h, 0.5 * h - s - 0.002)
    housing = front_prism(rounded_rect(s, s, 0.3 * s), 0.5 * d - 0.001, 0.5 * d + 0.4 * length, (xl, yl), 0.001)
    return Mesh.concat(
        [
            _body(w, h, d, p["corner"] * 0.5 * h, 0.0015),
            housing,
            _lens(xl, yl, 0.5 * d, rl, length),
            _knob(-0.25 * w, 0.5 * h, 0.0, 0.006, 0.002),
        ]
    )


def instant_camera(p: dict) -> Mesh:
    """Boxy, very rounded body, a big lens low on a wide ring, flash and viewfinder windows on top."""
    w, h, d = p["width"], p["height"], p["depth"]
    rl, length = min(p["lens_radius"], 0.3 * min(w, h)), p["lens_length"]
    xl, yl = p["lens_x"] * w, p["lens_y"] * h
    side = 1.0 if p["flash_side"] > 0.5 else -1.0
    window = rounded_rect(0.12 * w, 0.06 * h, 0.004)
    finder = rounded_rect(0.05 * w, 0.045 * h, 0.004)
    z0, z1 = 0.5 * d - 0.001, 0.5 * d + 0.003
    # A wide flat ring round the lens, as on most instant cameras.
    flange = barrel(np.array([0.0, 1.45 * rl, 1.45 * rl, 0.0]), np.array([z0, z0, z1, z1]), (xl, yl), part=BODY)
    return Mesh.concat(
        [
            _body(w, h, d, p["corner"] * 0.5 * min(w, h), 0.004),
            flange,
            _lens(xl, yl, 0.5 * d, rl, length),
            front_prism(window, z0, z1, (side * 0.28 * w, 0.36 * h), 0.001),  # flash
            front_prism(finder, z0, z1, (-side * 0.3 * w, 0.36 * h), 0.001),  # viewfinder window
            box((0.1 * w, 0.09 * h, 0.01), (-side * 0.3 * w, 0.36 * h, -0.5 * d - 0.003)),  # eyepiece
        ]
    )


def rangefinder_camera(p: dict) -> Mesh:
    """Flat body with rounded ends (seen from above) and windows at the top corners, no hump."""
    w, h, d = p["width"], p["height"], p["depth"]
    end = 0.48 * d  # radius of the rounded ends
    body = prism(rounded_rect(0.5 * w, 0.5 * d, end), -0.5 * h, 0.5 * h, 0.0015)
    z0, z1 = 0.5 * d - 0.001, 0.5 * d + 0.0015
    flat = 0.5 * w - end  # the front face is flat for |x| < flat
    finder, ranging = rounded_rect(0.1 * w, 0.07 * h, 0.002), rounded_rect(0.05 * w, 0.06 * h, 0.002)
    return Mesh.concat(
        [
            body,
            _lens(p["lens_x"] * w, -0.08 * h, 0.5 * d, min(p["lens_radius"], 0.38 * h), p["lens_length"]),
            front_prism(finder, z0, z1, (flat - 0.1 * w, 0.3 * h), 0.0005),  # viewfinder window, offset
            front_prism(ranging, z0, z1, (-flat + 0.05 * w, 0.3 * h), 0.0005),  # rangefinder window
            _knob(-0.3 * w, 0.5 * h, 0.0, 0.009, 0.006),  # shutter dial
            _knob(0.33 * w, 0.5 * h, 0.0, 0.008, 0.008),  # rewind knob
            box((0.12 * w, 0.006, 0.6 * d), (0.0, 0.5 * h + 0.002, 0.0)),  # accessory shoe
        ]
    )


# --------------------------------------------------------------------------- the table

_WALL = {"wall": (0.003, 0.006), "bottom": (0.005, 0.012)}
_HANDLE = {
    "handle_reach": (0.015, 0.035),
    "handle_half_height": (0.25, 0.42),
    "handle_centre": (0.45, 0.6),
    "handle_thickness": (0.0035, 0.008),
    "handle_width": (0.006, 0.016),
    "handle_square": (1.8, 8.0),
    "ring": (0.0, 1.0),
}
_LAPTOP = {"screen_thickness": (0.005, 0.009), "screen_ratio": (0.9, 1.0), "corner": (0.004, 0.014)}
OPENING = (20.0, 180.0)  # degrees between keyboard and screen

FAMILIES: dict[str, dict[str, Family]] = {
    "bottle": {
        "classic": Family(
            bottle,
            {
                "radius": (0.03, 0.05),
                "height": (0.15, 0.30),
                "neck_ratio": (0.25, 0.5),
                "shoulder_start": (0.45, 0.72),
                "shoulder_length": (0.08, 0.22),
                "waist": (-0.12, 0.08),
                "cap_height": (0.008, 0.03),
                "cap_ratio": (1.0, 1.3),
                "base_fillet": (0.002, 0.01),
            },
        ),
        "sports": Family(
            bottle,
            {
                "radius": (0.032, 0.042),
                "height": (0.18, 0.26),
                "neck_ratio": (0.55, 0.75),
                "shoulder_start": (0.7, 0.8),
                "shoulder_length": (0.04, 0.1),
                "waist": (-0.18, -0.06),
                "cap_height": (0.02, 0.035),
                "cap_ratio": (0.85, 1.05),
                "base_fillet": (0.003, 0.008),
            },
        ),
        "squeeze": Family(
            squeeze_bottle,
            {
                "radius": (0.025, 0.04),
                "height": (0.14, 0.24),
                "shoulder_start": (0.55, 0.78),
                "cap_ratio": (0.35, 0.55),
                "cap_height": (0.012, 0.025),
                "nozzle": (0.004, 0.012),
                "bulge": (-0.04, 0.08),
                "dome": (1.3, 2.5),
                "base_fillet": (0.002, 0.008),
            },
        ),
    },
    "bowl": {
        "round": Family(
            bowl,
            {
                "radius": (0.06, 0.11),
                "height": (0.05, 0.09),
                "foot_ratio": (0.35, 0.6),
                "foot_height": (0.003, 0.01),
                "wall_exponent": (1.6, 4.0),
                "thickness": (0.003, 0.006),
            },
        ),
        "conical": Family(
            bowl,
            {
                "radius": (0.07, 0.11),
                "height": (0.045, 0.08),
                "foot_ratio": (0.3, 0.5),
                "foot_height": (0.003, 0.01),
                "wall_exponent": (1.0, 1.4),
                "thickness": (0.003, 0.006),
            },
        ),
        "rimmed": Family(
            rimmed_bowl,
            {
                "radius": (0.1, 0.13),
                "height": (0.035, 0.06),
                "rim_width": (0.015, 0.03),
                "foot_ratio": (0.35, 0.55),
                "foot_height": (0.003, 0.008),
                "wall_exponent": (1.6, 3.0),
                "thickness": (0.003, 0.005),
                "rim_rise": (0.0, 0.008),
            },
        ),
    },
    "camera": {
        "compact": Family(
            compact_camera,
            {
                "width": (0.09, 0.115),
                "height": (0.052, 0.068),
                "lens_length": (0.008, 0.035),
                "depth": (0.02, 0.032),
                "lens_radius": (0.012, 0.02),
                "lens_offset": (0.0, 0.22),
                "corner": (0.1, 0.5),
                "grip_depth": (0.0, 0.006),
            },
        ),
        "slr": Family(
            slr_camera,
            {
                "width": (0.125, 0.15),
                "height": (0.085, 0.105),
                "lens_length": (0.045, 0.13),
                "depth": (0.065, 0.085),
                "lens_radius": (0.03, 0.04),
                "hump_height": (0.018, 0.03),
                "grip_depth": (0.02, 0.035),
                "front_ratio": (0.95, 1.2),
                "corner": (0.05, 0.2),
            },
        ),
        "mirrorless": Family(
            mirrorless_camera,
            {
                "width": (0.11, 0.135),
                "height": (0.065, 0.085),
                "lens_length": (0.03, 0.08),
                "depth": (0.033, 0.05),
                "lens_radius": (0.025, 0.033),
                "lens_offset": (0.04, 0.1),
                "grip_depth": (0.012, 0.025),
                "front_ratio": (0.95, 1.15),
                "evf": (0.0, 1.0),
                "corner": (0.05, 0.25),
            },
        ),
        "action": Family(
            action_camera,
            {
                "width": (0.055, 0.072),
                "height": (0.04, 0.052),
                "depth": (0.022, 0.038),
                "lens_radius": (0.008, 0.013),
                "lens_length": (0.005, 0.012),
                "lens_x": (0.1, 0.3),
                "lens_y": (0.0, 0.25),
                "corner": (0.1, 0.3),
            },
        ),
        "instant": Family(
            instant_camera,
            {
                "width": (0.105, 0.15),
                "height": (0.09, 0.125),
                "depth": (0.055, 0.095),
                "lens_radius": (0.022, 0.035),
                "lens_length": (0.012, 0.035),
                "lens_x": (-0.05, 0.1),
                "lens_y": (-0.18, -0.03),
                "corner": (0.15, 0.45),
                "flash_side": (0.0, 1.0),
            },
        ),
        "rangefinder": Family(
            rangefinder_camera,
            {
                "width": (0.125, 0.145),
                "height": (0.068, 0.085),
                "depth": (0.03, 0.042),
                "lens_radius": (0.02, 0.028),
                "lens_length": (0.02, 0.05),
                "lens_x": (-0.02, 0.06),
            },
        ),
    },
    "can": {
        "beverage": Family(
            can,
            {
                "radius": (0.025, 0.04),
                "height": (0.08, 0.15),
                "neck_depth": (0.001, 0.006),
                "neck_height": (0.004, 0.014),
                "recess": (0.002, 0.005),
                "base_taper": (0.001, 0.005),
            },
        ),
        "food": Family(
            food_can,
            {
                "radius": (0.035, 0.055),
                "height": (0.05, 0.12),
                "rib_depth": (0.0005, 0.0012),
                "ribs": (3.0, 9.0),
                "bead": (0.002, 0.004),
                "recess": (0.002, 0.005),
            },
        ),
    },
    "laptop": {
        "standard": Family(
            laptop,
            {
                "width": (0.3, 0.36),
                "opening_deg": OPENING,
                "base_thickness": (0.016, 0.024),
                "depth_ratio": (0.64, 0.72),
                **_LAPTOP,
            },
        ),
        "ultrabook": Family(
            laptop,
            {
                "width": (0.28, 0.34),
                "opening_deg": OPENING,
                "base_thickness": (0.009, 0.015),
                "depth_ratio": (0.63, 0.7),
                **_LAPTOP,
                "screen_thickness": (0.003, 0.006),
            },
        ),
        "gaming": Family(
            laptop,
            {
                "width": (0.35, 0.40),
                "opening_deg": OPENING,
                "base_thickness": (0.024, 0.035),
                "depth_ratio": (0.68, 0.76),
                **_LAPTOP,
                "screen_thickness": (0.007, 0.012),
                "corner": (0.002, 0.01),
            },
        ),
        "netbook": Family(
            laptop,
            {
                "width": (0.24, 0.28),
                "opening_deg": OPENING,
                "base_thickness": (0.018, 0.03),
                "depth_ratio": (0.66, 0.76),
                **_LAPTOP,
                "screen_ratio": (0.82, 0.95),
                "corner": (0.006, 0.02),
            },
        ),
        "wedge": Family(
            wedge_laptop,
            {
                "width": (0.28, 0.34),
                "opening_deg": OPENING,
                "back_thickness": (0.013, 0.02),
                "front_thickness": (0.003, 0.007),
                "depth_ratio": (0.64, 0.72),
                **_LAPTOP,
                "screen_thickness": (0.004, 0.006),
            },
        ),
    },
    "mug": {
        "cylindrical": Family(
            mug,
            {"radius": (0.035, 0.05), "height": (0.075, 0.115), "handle_reach": (0.015, 0.035), "taper": (0.95, 1.05)}
            | _WALL
            | _HANDLE,
        ),
        "conical": Family(
            mug,
            {"radius": (0.028, 0.042), "height": (0.07, 0.105), "handle_reach": (0.015, 0.035), "taper": (1.15, 1.45)}
            | _WALL
            | _HANDLE,
        ),
        "travel": Family(
            travel_mug,
            {
                "radius": (0.03, 0.038),
                "height": (0.13, 0.18),
                "handle_reach": (0.02, 0.035),
                "taper": (1.05, 1.3),
                "lid_height": (0.01, 0.02),
                "band": (0.0, 0.002),
                "wall": (0.003, 0.006),
            }
            | {k: v for k, v in _HANDLE.items() if k != "handle_reach"}
            | {"handle_half_height": (0.2, 0.32), "ring": (RING_SHARE, 1.0)},  # D to square handles only
        ),
        "square": Family(
            square_mug,
            {
                "radius": (0.035, 0.048),
                "height": (0.075, 0.11),
                "handle_reach": (0.015, 0.035),
                "taper": (0.95, 1.1),
                "squareness": (3.0, 7.0),
            }
            | _WALL
            | _HANDLE,
        ),
    },
}

HELD_OUT: dict[str, str] = {
    "bottle": "squeeze",
    "bowl": "rimmed",
    "camera": "rangefinder",
    "can": "food",
    "laptop": "wedge",
    "mug": "square",
}
