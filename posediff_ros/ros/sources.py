"""Where the node's objects come from (`mask_source`): label images, or a 2D detector's boxes.

Either way a frame's source message becomes a panoptic label image for the engine
(docs/conventions.md §4.2), through the ROS-free posediff_ros.segment modules:
- `mask` (sensor_msgs/Image on `mask`): labels as the `label_encoding` says; `semantic`
  class-per-pixel images are split into instances (segment/semantic.py);
- `detections` (vision_msgs/Detection2DArray on `detections`): each box's object pixels
  (segment/boxes.py), labelled by category and detector id (segment/detector_ids.py).
Problems with single objects go to `warn` and the rest of the frame is used; a frame that
cannot be used raises FrameError.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from sensor_msgs.msg import Image
from vision_msgs.msg import Detection2DArray

from ..categories import CategoryTable
from ..estimator import FrameError
from ..geometry import Intrinsics
from ..labels import LabelEncoding
from ..segment.boxes import Box, box_objects
from ..segment.classes import ClassMap
from ..segment.detector_ids import DetectorIds
from ..segment.semantic import semantic_instances
from .images import ImageError, mask_to_labels
from .parameters import NodeParameters


@dataclass
class FrameLabels:
    """A frame's objects as the engine takes them."""

    labels: np.ndarray  # (H, W) int32
    encoding: LabelEncoding  # the engine's: PANOPTIC or INSTANCE
    detection_ids: dict[int, str] = field(default_factory=dict)  # label -> its source detection's id
    skipped: int = 0  # detections that gave no object


class MaskSource:
    """Instance label images on `mask`; `semantic` class images become panoptic instances."""

    msg_type, topic = Image, "mask"

    def __init__(self, p: NodeParameters, categories: CategoryTable):
        self.encoding, self.categories, self.min_points = p.objects.label_encoding, categories, p.objects.min_points

    def labels(
        self, msg: Image, depth: np.ndarray, intrinsics: Intrinsics, frame_id: str, warn: Callable[[str], None]
    ) -> FrameLabels:
        """The frame's labels (`frame_id`, the depth image's, is not checked: a mask shares its header)."""
        try:
            labels = mask_to_labels(msg)
        except ImageError as error:
            raise FrameError(f"mask image: {error}") from None
        if self.encoding is not LabelEncoding.SEMANTIC:
            return FrameLabels(labels, self.encoding)
        if labels.shape != depth.shape:  # the engine says so for the other encodings
            raise FrameError(f"depth {depth.shape[1]}x{depth.shape[0]} and mask {msg.width}x{msg.height} differ")
        found = semantic_instances(depth, labels, intrinsics, self.categories, self.min_points)
        if found.unknown:
            warn(
                f"semantic image has class ids {', '.join(map(str, found.unknown))}, which the category table "
                f"lacks (its ids: {', '.join(str(c.id) for c in self.categories)}): those pixels are ignored"
            )
        return FrameLabels(found.labels, LabelEncoding.PANOPTIC)

    def reset(self) -> None:
        """Nothing carries over from frame to frame."""


class DetectionSource:
    """vision_msgs/Detection2DArray on `detections`: boxes in the depth image's pixels."""

    msg_type, topic = Detection2DArray, "detections"

    def __init__(self, p: NodeParameters, categories: CategoryTable):
        self.classes = ClassMap.load(p.objects.class_map, categories)
        self.min_points = p.objects.min_points
        self.ids = DetectorIds(p.tracking.max_missed)

    def labels(
        self,
        msg: Detection2DArray,
        depth: np.ndarray,
        intrinsics: Intrinsics,
        frame_id: str,
        warn: Callable[[str], None],
    ) -> FrameLabels:
        """The object pixels of the usable detections; FrameError when the boxes belong to another
        camera frame than the depth image's `frame_id` (an empty frame_id is taken to be the same)."""
        if msg.header.frame_id and msg.header.frame_id != frame_id:
            raise FrameError(
                f"detections are in frame '{msg.header.frame_id}' but the depth image in '{frame_id}': boxes must "
                "be in the depth image's pixels (a colour detector needs depth registered to colour)"
            )
        boxes, keys, ids = [], [], []
        for i, detection in enumerate(msg.detections):
            if not detection.results:
                warn(f"detection {i} ('{detection.id}') has no results (no class): skipped")
                continue
            class_id = detection.results[0].hypothesis.class_id
            category = self.classes.category(class_id)
            if category is None:
                warn(
                    f"detection class '{class_id}' is neither a category ({', '.join(self.classes.categories.names)}) "
                    "nor in the class_map: skipped"
                )
                continue
            b = detection.bbox
            boxes.append(Box(b.center.position.x, b.center.position.y, b.size_x, b.size_y, b.center.theta))
            keys.append((category.id, detection.id))
            ids.append(detection.id)
        repeated = sorted(i for i, n in Counter(i for i in ids if i).items() if n > 1)
        if repeated:
            warn(f"detection ids {', '.join(map(repr, repeated))} occur more than once in one message: tracked apart")
        labels = self.ids.labels(keys)
        usable = [i for i, label in enumerate(labels) if label is not None]
        found = box_objects(depth, intrinsics, [boxes[i] for i in usable], [labels[i] for i in usable], self.min_points)
        for index, reason in found.skipped.items():
            warn(f"detection '{ids[usable[index]]}' skipped: {reason}")
        kept = [usable[i] for i in range(len(usable)) if i not in found.skipped]
        detection_ids = {labels[i]: ids[i] for i in kept if ids[i]}
        return FrameLabels(found.labels, LabelEncoding.PANOPTIC, detection_ids, len(msg.detections) - len(kept))

    def reset(self) -> None:
        """Timestamps went backwards: the detector's ids start afresh."""
        self.ids.reset()


def object_source(p: NodeParameters, categories: CategoryTable) -> MaskSource | DetectionSource:
    """The source the parameters choose; ValueError for a bad class map."""
    return DetectionSource(p, categories) if p.objects.mask_source == "detections" else MaskSource(p, categories)
