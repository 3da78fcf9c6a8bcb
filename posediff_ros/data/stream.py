"""An endless stream of fresh per-object training samples, rendered inside DataLoader workers.

Each worker draws its own scenes from `np.random.default_rng([seed, split code, STREAM,
worker id, epoch])`, so workers never repeat each other and the stream is reproducible for
a given (seed, num_workers, epoch). Per scene several random views are taken; per view and
object only the pixels inside the object's projected 3D box are ray-cast (a crop with
shifted intrinsics), which is what makes on-the-fly generation fast enough for training.
The crop holds the whole object and its neighbourhood (clipped to the image), so occlusion,
truncation at the image border, sensor noise and mask noise are the same as in a full frame.
The cameras of a scene are drawn before its occluders (`scene.add_occluders`), which stand
in front of objects as those cameras see them; `SceneConfig` sets how often views truncate
an object, carry an occluder or show a densely packed scene.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
from torch.utils.data import IterableDataset, get_worker_info

from ..geometry import MIN_POINTS, NUM_POINTS, REAL275_INTRINSICS, Intrinsics, TooFewPoints, backproject, sample_points
from .noise import DepthNoise, MaskNoise
from .objects import training_sample
from .render import SceneRenderer, crop_intrinsics, projected_box, render_frame
from .scene import SceneConfig, add_occluders, sample_camera, sample_scene
from .shapes import SPLITS, Shape

STREAM = 7  # keeps stream seeds apart from the generate_dataset scene seeds


class SyntheticPoseStream(IterableDataset):
    """Yields `objects.training_sample` dicts: points (N, 3) float32 camera frame (metres,
    uncentred), R (3, 3) and t (3,) float32 object -> camera, size (3,) float32 metres,
    category int64 id in `config.table` (NOCS by default), symmetric bool."""

    def __init__(
        self,
        seed: int = 0,
        split: str = "train",
        intrinsics: Intrinsics = REAL275_INTRINSICS,
        config: SceneConfig = SceneConfig(),
        depth_noise: DepthNoise = DepthNoise(),
        mask_noise: MaskNoise = MaskNoise(),
        views_per_scene: int = 4,
        max_crop_pixels: int | None = 8192,
        num_points: int = NUM_POINTS,
        min_points: int = MIN_POINTS,
        library: dict[str, list[Shape]] | None = None,
    ):
        super().__init__()
        self.seed, self.split, self.intrinsics, self.config = seed, split, intrinsics, config
        self.depth_noise, self.mask_noise = depth_noise, mask_noise
        self.views_per_scene, self.num_points, self.min_points = views_per_scene, num_points, min_points
        self.max_crop_pixels = max_crop_pixels
        self.library = library
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Change the random stream (call before creating the next iterator)."""
        self.epoch = epoch

    def __iter__(self) -> Iterator[dict]:
        info = get_worker_info()
        worker = info.id if info is not None else 0
        rng = np.random.default_rng([self.seed, SPLITS.index(self.split), STREAM, worker, self.epoch])
        while True:
            yield from self.scene_samples(rng)

    def _crop(self, box: tuple[int, int, int, int], rng: np.random.Generator):
        """Crop intrinsics for an object box, decimated to at most max_crop_pixels pixels.

        A near object covers tens of thousands of pixels but yields only num_points points;
        casting every `stride`-th ray (a random lattice offset) keeps the points uniform
        over the visible surface at a fraction of the cost. Noise radii in pixels then act
        on the coarser lattice, i.e. in proportion to the object's image size, as the
        mask errors of a segmenter do.
        """
        area = (box[2] - box[0]) * (box[3] - box[1])
        if self.max_crop_pixels is None or area <= self.max_crop_pixels:
            return crop_intrinsics(self.intrinsics, box)
        stride = int(np.ceil(np.sqrt(area / self.max_crop_pixels)))
        return crop_intrinsics(self.intrinsics, box, stride, tuple(int(o) for o in rng.integers(0, stride, 2)))

    def scene_samples(self, rng: np.random.Generator) -> Iterator[dict]:
        """The samples of one new scene seen from `views_per_scene` random cameras."""
        scene = sample_scene(rng, self.config, self.split, self.library)
        cameras = [sample_camera(rng, scene, self.config, self.intrinsics) for _ in range(self.views_per_scene)]
        renderer = SceneRenderer(add_occluders(rng, scene, cameras, self.config))
        for camera in cameras:
            for obj in scene.objects:
                R, t = camera.object_pose(obj)
                box = projected_box(self.intrinsics, R, t, obj.shape.size)
                if box is None:
                    continue
                crop = self._crop(box, rng)
                frame = render_frame(
                    renderer, camera, crop, rng, self.depth_noise, self.mask_noise, sensor_fx=self.intrinsics.fx
                )
                instance = next((i for i in frame.instances if i.label == obj.label), None)
                if instance is None:
                    continue
                try:
                    points = sample_points(
                        backproject(frame.depth, frame.labels == obj.label, crop), rng, self.num_points, self.min_points
                    )
                except TooFewPoints:
                    continue
                yield training_sample(points, instance)
