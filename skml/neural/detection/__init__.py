"""Object detection: the R-CNN family's ops (box IoU, NMS, RoI pooling and align,
anchors, box coding), selective search, and the detectors.

The ops take NumPy arrays or torch tensors (the RoI ops: tensors); importing this
package never imports torch.
"""
from skml.neural.detection._ops import (
    batched_nms,
    box_iou,
    clip_boxes,
    decode_boxes,
    encode_boxes,
    generate_anchors,
    nms,
    roi_align,
    roi_pool,
)
from skml.neural.detection._selective_search import selective_search
from skml.neural.detection._detectors import (
    FastRCNNDetector,
    FasterRCNNDetector,
    RCNNDetector,
)

__all__ = ["batched_nms", "box_iou", "clip_boxes", "decode_boxes", "encode_boxes",
           "generate_anchors", "nms", "roi_align", "roi_pool", "selective_search"]
# The detectors (estimators over these ops).
__all__ += ["FastRCNNDetector", "FasterRCNNDetector", "RCNNDetector"]
