"""Synthetic category-level depth scenes and the datasets training and evaluation read.

Import from the module that does the job; the package itself imports nothing, so that
reading a dataset loads no renderer:

    shapes, mesh, families   procedural and user object shapes
    scene, noise, render     scenes, sensor noise, Embree ray casting into annotated frames
    stream                   the streaming synthetic training dataset (rendered on the fly)
    layout, generate         the on-disk layout of docs/conventions.md §6, and writing it
    nocs, housecat6d, omni6dpose   public datasets as the same `Frame`s
    sources                  choosing one of those datasets by name (train, evaluate)
    objects, augment         per-object training samples from frames, and their augmentations
"""
