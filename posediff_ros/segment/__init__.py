"""Object pixels from what 2D detectors and segmenters publish, as panoptic label images (ROS-free).

The engine takes an instance label image (docs/conventions.md §4.2). These modules make
one from the other kinds of input, so that the node and `evaluate` share one code path:
`boxes` from detection boxes (the object's own pixels inside each box), `semantic` from
a class-per-pixel image (instances split by connectivity and depth), both built on the
depth-aware connected parts of `components`; `classes` maps a detector's class names or
ids to the category table.
"""
