"""Object detection networks of the R-CNN family (§3.5.6 of the notes): R-CNN, Fast R-CNN
and Faster R-CNN with its region proposal network.

Plain ``torch.nn`` modules, nothing of scikit-learn. In training mode each detector's
``forward(images, targets)`` returns a dict of scalar losses (what
``NeuralEstimator``'s default step sums and records); in eval mode it returns one dict
``{"boxes", "labels", "scores"}`` of tensors per image, with ``labels`` counted from 1
(0 is the background class inside the networks).

``targets`` is a list with one dict per image: ``"boxes"`` ``(k, 4)`` float
``(x1, y1, x2, y2)`` in pixels, ``"labels"`` ``(k,)`` int64 in ``[1, n_classes]`` (training
only) and, for R-CNN and Fast R-CNN, ``"proposals"`` ``(p, 4)``: the region proposals
(selective search). Tensors may live on any device; they are moved to the images'.

The backbones are the convolutional blocks of ``skml.neural._modules.cnn`` (LeNet,
AlexNet, VGG, ResNet, DenseNet); the box operations are ``skml.neural.detection``'s.
Random choices of training (which anchors and regions are sampled) draw from the
module's ``generator`` attribute when it is set (the estimator sets the loop's seeded
generator), else from torch's global generator.
"""
from collections import OrderedDict

import torch
import torch.nn.functional as F
from torch import nn

from skml.neural._modules.cnn import build_cnn, mlp_head
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

__all__ = ["FastRCNN", "FasterRCNN", "RCNN", "RegionProposalNetwork", "RoIHead",
           "conv_backbone", "detection_losses", "match_boxes", "rcnn_network",
           "sample_matches"]

# The regression targets of the RoI head are scaled by these weights (Fast R-CNN
# normalises its targets to roughly unit variance; torchvision's values), the RPN's not.
ROI_BOX_WEIGHTS = (10.0, 10.0, 5.0, 5.0)
RPN_BOX_WEIGHTS = (1.0, 1.0, 1.0, 1.0)
# Faster R-CNN's anchor labelling: positive at IoU >= 0.7 with a true box (and each true
# box's best anchors), negative below 0.3, ignored between (Ren et al., §3.1.2).
RPN_FG_IOU, RPN_BG_IOU = 0.7, 0.3
RPN_POSITIVE_FRACTION = 0.5  # 128 positive and 128 negative anchors (Example 54)
SMOOTH_L1_BETA = 1.0 / 9.0  # the box losses' Huber transition (torchvision's)
_MIN_BOX_SIDE = 1e-2  # pixels: narrower predicted boxes are dropped


def conv_backbone(architecture, in_channels, image_size, **config):
    """The convolutional blocks of ``build_cnn(architecture, ...)`` as an
    ``nn.Sequential`` (the shared feature extractor of Fast and Faster R-CNN), and the
    number of channels of its feature map."""
    config = dict(config, hidden=(), global_pool="avg")  # no head is built for nothing
    net = build_cnn(architecture, in_channels, 1, image_size, **config)
    blocks = nn.Sequential(OrderedDict((name, getattr(net, name))
                                       for name in net.feature_names))
    return blocks, net.head.out.in_features


def match_boxes(iou, high, low, allow_low_quality=False):
    """The true box each candidate is assigned to: ``iou`` is ``(n_true, n_candidates)``;
    returns ``(n_candidates,)`` int64, the index of the best true box where its IoU is at
    least ``high``, -1 (background) below ``low``, -2 (ignored) between. With
    ``allow_low_quality`` each true box also claims the candidates of its highest IoU
    (Faster R-CNN's rule, so that every object has a positive anchor)."""
    n_true, n_cand = iou.shape
    if n_true == 0:
        return torch.full((n_cand,), -1, dtype=torch.long, device=iou.device)
    best, index = iou.max(0)
    matches = index.clone()
    matches[best < low] = -1
    matches[(best >= low) & (best < high)] = -2
    if allow_low_quality:
        best_per_true = iou.max(1, keepdim=True).values
        claimed = ((iou == best_per_true) & (best_per_true > 0)).any(0)
        matches[claimed] = index[claimed]
    return matches


def _randperm(n, generator, device):
    if generator is None:
        return torch.randperm(n, device=device)
    return torch.randperm(n, generator=generator, device=generator.device).to(device)


def sample_matches(matches, n_samples, positive_fraction, generator=None):
    """Indices of at most ``n_samples`` candidates: up to ``positive_fraction`` of them
    positives (``matches >= 0``), the rest negatives (``matches == -1``), each drawn at
    random without replacement; returns ``(positive indices, negative indices)``."""
    pos = torch.nonzero(matches >= 0).flatten()
    neg = torch.nonzero(matches == -1).flatten()
    n_pos = min(len(pos), int(n_samples * positive_fraction))
    n_neg = min(len(neg), n_samples - n_pos)
    pos = pos[_randperm(len(pos), generator, pos.device)[:n_pos]]
    neg = neg[_randperm(len(neg), generator, neg.device)[:n_neg]]
    return pos, neg


def _box_loss(deltas, targets, n):
    """Smooth L1 (Huber) loss of the box deltas, summed and divided by ``n`` (the
    sampled candidates, positives and negatives): Fast R-CNN's normalisation."""
    if deltas.numel() == 0:
        return deltas.sum() * 0.0
    return F.smooth_l1_loss(deltas, targets, beta=SMOOTH_L1_BETA, reduction="sum") / max(n, 1)


def _as_device(targets, device):
    return [{k: v.to(device) for k, v in t.items()} for t in targets]


def _remove_small(boxes, *others):
    keep = ((boxes[:, 2] - boxes[:, 0]) >= _MIN_BOX_SIDE) & \
           ((boxes[:, 3] - boxes[:, 1]) >= _MIN_BOX_SIDE)
    return (boxes[keep],) + tuple(o[keep] for o in others)


class RegionProposalNetwork(nn.Module):
    """The RPN (Definition 3.99, Example 54): a 3x3 convolution over the feature map,
    then two sibling 1x1 convolutions giving, for each of the ``A`` anchors at every
    position, an objectness logit (object vs background, the two-way softmax written as
    one sigmoid) and the four deltas ``(dx, dy, dw, dh)`` of its box.

    ``forward(features)`` returns ``(logits (n, H*W*A), deltas (n, H*W*A, 4))`` in the
    order of ``generate_anchors`` (position-major, anchor-minor)."""

    def __init__(self, in_channels, n_anchors):
        super().__init__()
        self.n_anchors = int(n_anchors)
        self.conv = nn.Conv2d(in_channels, in_channels, 3, padding=1)
        self.objectness = nn.Conv2d(in_channels, n_anchors, 1)
        self.box = nn.Conv2d(in_channels, 4 * n_anchors, 1)
        for layer in (self.conv, self.objectness, self.box):  # Ren et al.'s N(0, 0.01)
            nn.init.normal_(layer.weight, std=0.01)
            nn.init.zeros_(layer.bias)

    def forward(self, features):
        n, _, h, w = features.shape
        t = F.relu(self.conv(features))
        logits = self.objectness(t).permute(0, 2, 3, 1).reshape(n, -1)
        deltas = self.box(t).reshape(n, self.n_anchors, 4, h, w)
        deltas = deltas.permute(0, 3, 4, 1, 2).reshape(n, -1, 4)
        return logits, deltas


class RoIHead(nn.Module):
    """Fast R-CNN's head (Example 52): each region's features pooled to ``pool_size``
    x ``pool_size`` (``roi_align``, or the max ``roi_pool`` of the original paper),
    flattened, then fully connected layers (:func:`mlp_head` of ``hidden``) whose last
    linear layer holds the two siblings: ``n_classes + 1`` class logits (0: background)
    and four box deltas per class.

    ``forward(features, rois, spatial_scale)`` with ``rois`` a list of per-image
    ``(k_i, 4)`` boxes returns ``(logits (K, n_classes + 1), deltas (K, n_classes + 1,
    4))``."""

    def __init__(self, in_channels, n_classes, pool_size=7, hidden=(128,),
                 pooling="align", activation="relu", dropout=0.0, sampling_ratio=2):
        super().__init__()
        self.n_classes = int(n_classes)
        self.pool_size = int(pool_size)
        self.pooling = pooling
        self.sampling_ratio = int(sampling_ratio)
        self.fc = mlp_head(in_channels * self.pool_size ** 2, tuple(hidden),
                           5 * (self.n_classes + 1), activation, dropout)

    def pool(self, features, rois, spatial_scale):
        if self.pooling == "align":
            return roi_align(features, rois, self.pool_size, spatial_scale=spatial_scale,
                             sampling_ratio=self.sampling_ratio, aligned=True)
        return roi_pool(features, rois, self.pool_size, spatial_scale=spatial_scale)

    def forward(self, features, rois, spatial_scale):
        pooled = self.pool(features, rois, spatial_scale)
        return self.classify(pooled.flatten(1))

    def classify(self, x):
        out = self.fc(x)
        k = self.n_classes + 1
        return out[:, :k], out[:, k:].reshape(-1, k, 4)


def detection_losses(logits, deltas, labels, box_targets):
    """Fast R-CNN's multi-task loss: the cross-entropy of the class logits against
    ``labels`` (0 = background) and the smooth L1 loss of the deltas of each positive
    region's true class against ``box_targets``."""
    cls = F.cross_entropy(logits, labels) if len(labels) else logits.sum() * 0.0
    pos = torch.nonzero(labels > 0).flatten()
    box = _box_loss(deltas[pos, labels[pos]], box_targets[pos], len(labels))
    return cls, box


class _Detector(nn.Module):
    """What the three detectors share: sampling the training regions among proposals
    and true boxes, and turning class scores and deltas into detections."""

    def __init__(self, n_classes, rois_per_image=128, positive_fraction=0.25,
                 fg_iou_threshold=0.5, score_threshold=0.05, nms_threshold=0.5,
                 max_detections=100):
        super().__init__()
        self.n_classes = int(n_classes)
        self.rois_per_image = int(rois_per_image)
        self.positive_fraction = float(positive_fraction)
        self.fg_iou_threshold = float(fg_iou_threshold)
        self.score_threshold = float(score_threshold)
        self.nms_threshold = float(nms_threshold)
        self.max_detections = int(max_detections)
        self.generator = None

    def sample_rois(self, proposals, targets):
        """Training regions per image: the proposals plus the true boxes (so every
        object has a positive from the start), labelled by IoU >= ``fg_iou_threshold``
        with a true box (its class) or background, sampled to ``rois_per_image`` with
        up to ``positive_fraction`` positives. Returns the region boxes (a list), their
        labels and regression targets (concatenated)."""
        rois, labels, box_targets = [], [], []
        for props, target in zip(proposals, targets):
            gt, gt_labels = target["boxes"], target["labels"]
            props = torch.cat([props.to(gt.dtype), gt])
            matches = match_boxes(box_iou(gt, props), self.fg_iou_threshold,
                                  self.fg_iou_threshold)
            pos, neg = sample_matches(matches, self.rois_per_image, self.positive_fraction,
                                      self.generator)
            keep = torch.cat([pos, neg])
            boxes = props[keep]
            lab = torch.zeros(len(keep), dtype=torch.long, device=props.device)
            lab[:len(pos)] = gt_labels[matches[pos]]
            reg = torch.zeros(len(keep), 4, dtype=props.dtype, device=props.device)
            if len(pos):
                reg[:len(pos)] = encode_boxes(boxes[:len(pos)], gt[matches[pos]],
                                              weights=ROI_BOX_WEIGHTS)
            rois.append(boxes)
            labels.append(lab)
            box_targets.append(reg)
        return rois, torch.cat(labels), torch.cat(box_targets)

    def postprocess(self, logits, deltas, rois, image_size):
        """Detections per image from the class logits and deltas of the regions
        ``rois`` (a list): per-class decoded boxes clipped to the image, scores above
        ``score_threshold``, per-class NMS at ``nms_threshold``, the
        ``max_detections`` best."""
        probs = F.softmax(logits, -1)
        counts = [len(r) for r in rois]
        results = []
        for p, d, r in zip(probs.split(counts), deltas.split(counts), rois):
            k = self.n_classes
            ref = r[:, None, :].expand(-1, k, 4).reshape(-1, 4)
            boxes = decode_boxes(ref, d[:, 1:].reshape(-1, 4), weights=ROI_BOX_WEIGHTS)
            boxes = clip_boxes(boxes, image_size)
            scores = p[:, 1:].reshape(-1)
            labels = torch.arange(1, k + 1, device=p.device).repeat(len(r))
            keep = scores > self.score_threshold
            boxes, scores, labels = _remove_small(boxes[keep], scores[keep], labels[keep])
            keep = batched_nms(boxes, scores, labels, self.nms_threshold)
            keep = keep[:self.max_detections]
            results.append({"boxes": boxes[keep], "labels": labels[keep],
                            "scores": scores[keep]})
        return results


class FastRCNN(_Detector):
    """Fast R-CNN (Girshick, 2015; Example 52): the backbone runs once per image; each
    proposal's features are pooled from the shared map by :class:`RoIHead`.

    ``forward(images, targets)``: ``targets[i]["proposals"]`` are the proposals of
    image ``i`` (and, in training, ``"boxes"`` and ``"labels"`` its objects)."""

    def __init__(self, backbone, out_channels, n_classes, pool_size=7, hidden=(128,),
                 pooling="align", activation="relu", dropout=0.0, **kwargs):
        super().__init__(n_classes, **kwargs)
        self.backbone = backbone
        self.roi_head = RoIHead(out_channels, n_classes, pool_size, hidden, pooling,
                                activation, dropout)

    def features(self, images):
        feats = self.backbone(images)
        return feats, feats.shape[-1] / images.shape[-1]

    def forward(self, images, targets):
        targets = _as_device(targets, images.device)
        feats, scale = self.features(images)
        proposals = [t["proposals"] for t in targets]
        return self._heads(feats, scale, proposals, targets, images.shape[-2:])

    def _heads(self, feats, scale, proposals, targets, image_size):
        if self.training:
            rois, labels, box_targets = self.sample_rois(proposals, targets)
            logits, deltas = self.roi_head(feats, rois, scale)
            cls, box = detection_losses(logits, deltas, labels, box_targets)
            return {"cls": cls, "box": box}
        logits, deltas = self.roi_head(feats, proposals, scale)
        return self.postprocess(logits, deltas, proposals, image_size)


class FasterRCNN(FastRCNN):
    """Faster R-CNN (Ren et al., 2015; Examples 53-54): a :class:`RegionProposalNetwork`
    on the shared feature map proposes regions from anchors (``anchor_sizes`` x
    ``aspect_ratios`` at every position); the best ``pre_nms_top_n`` by objectness are
    decoded, clipped, reduced by NMS at ``rpn_nms_threshold`` to ``post_nms_top_n`` and
    handed to the Fast R-CNN head. Training adds the RPN's objectness and box losses
    over ``rpn_batch_size`` sampled anchors per image.

    ``forward(images, targets=None)``: in training ``targets[i]`` holds ``"boxes"`` and
    ``"labels"``."""

    def __init__(self, backbone, out_channels, n_classes, anchor_sizes=(16, 32, 64),
                 aspect_ratios=(0.5, 1.0, 2.0), rpn_nms_threshold=0.7,
                 pre_nms_top_n=1000, post_nms_top_n=300, rpn_batch_size=256, **kwargs):
        super().__init__(backbone, out_channels, n_classes, **kwargs)
        self.anchor_sizes = tuple(float(s) for s in anchor_sizes)
        self.aspect_ratios = tuple(float(r) for r in aspect_ratios)
        self.rpn = RegionProposalNetwork(out_channels,
                                         len(self.anchor_sizes) * len(self.aspect_ratios))
        self.rpn_nms_threshold = float(rpn_nms_threshold)
        self.pre_nms_top_n = int(pre_nms_top_n)
        self.post_nms_top_n = int(post_nms_top_n)
        self.rpn_batch_size = int(rpn_batch_size)
        self._anchor_cache = {}

    def anchors(self, feature_size, image_size, device):
        """The anchors of a feature map of ``feature_size`` over images of
        ``image_size`` (cached per sizes and device)."""
        key = (tuple(feature_size), tuple(image_size), str(device))
        if key not in self._anchor_cache:
            stride = image_size[-1] / feature_size[-1]
            self._anchor_cache[key] = generate_anchors(
                tuple(int(s) for s in feature_size), stride, self.anchor_sizes,
                self.aspect_ratios, device=device)
        return self._anchor_cache[key]

    def propose(self, anchors, logits, deltas, image_size):
        """Per image, the proposals: the ``pre_nms_top_n`` anchors of highest
        objectness, decoded, clipped, small ones dropped, NMS, ``post_nms_top_n``."""
        out = []
        k = min(self.pre_nms_top_n, logits.shape[1])
        for lg, dl in zip(logits, deltas):
            top = lg.topk(k).indices
            boxes = clip_boxes(decode_boxes(anchors[top], dl[top], weights=RPN_BOX_WEIGHTS),
                               image_size)
            boxes, scores = _remove_small(boxes, lg[top])
            keep = nms(boxes, scores, self.rpn_nms_threshold)[:self.post_nms_top_n]
            out.append(boxes[keep])
        return out

    def rpn_losses(self, anchors, logits, deltas, targets):
        """The RPN's losses: binary cross-entropy of the sampled anchors' objectness,
        smooth L1 of the positive anchors' deltas (both over the sampled anchors)."""
        obj, box, n_total = [], [], 0
        for lg, dl, target in zip(logits, deltas, targets):
            gt = target["boxes"]
            matches = match_boxes(box_iou(gt, anchors), RPN_FG_IOU, RPN_BG_IOU,
                                  allow_low_quality=True)
            pos, neg = sample_matches(matches, self.rpn_batch_size, RPN_POSITIVE_FRACTION,
                                      self.generator)
            idx = torch.cat([pos, neg])
            label = torch.zeros(len(idx), dtype=lg.dtype, device=lg.device)
            label[:len(pos)] = 1.0
            obj.append(F.binary_cross_entropy_with_logits(lg[idx], label, reduction="sum"))
            if len(pos):
                reg = encode_boxes(anchors[pos], gt[matches[pos]], weights=RPN_BOX_WEIGHTS)
                box.append(F.smooth_l1_loss(dl[pos], reg, beta=SMOOTH_L1_BETA,
                                            reduction="sum"))
            n_total += len(idx)
        n_total = max(n_total, 1)
        zero = logits.sum() * 0.0
        return sum(obj, zero) / n_total, sum(box, zero) / n_total

    def forward(self, images, targets=None):
        image_size = tuple(images.shape[-2:])
        feats, scale = self.features(images)
        anchors = self.anchors(feats.shape[-2:], image_size, images.device)
        logits, deltas = self.rpn(feats)
        proposals = self.propose(anchors, logits.detach(), deltas.detach(), image_size)
        if not self.training:
            return self._heads(feats, scale, proposals, None, image_size)
        targets = _as_device(targets, images.device)
        rpn_obj, rpn_box = self.rpn_losses(anchors, logits, deltas, targets)
        losses = self._heads(feats, scale, proposals, targets, image_size)
        return {"rpn_objectness": rpn_obj, "rpn_box": rpn_box, **losses}


class RCNN(_Detector):
    """R-CNN (Girshick et al., 2014; Example 50): every proposal is cropped from the
    image and warped to ``crop_size`` x ``crop_size`` (bilinear ``roi_align`` on the
    pixels), and a whole CNN (``net``: backbone, pooling, fully connected head) gives its
    ``n_classes + 1`` class logits and four box deltas per class. One network pass per
    region (Remark 3.89): regions go through it ``chunk_size`` at a time at
    inference."""

    def __init__(self, net, n_classes, crop_size=32, chunk_size=256, **kwargs):
        super().__init__(n_classes, **kwargs)
        self.net = net
        self.crop_size = int(crop_size)
        self.chunk_size = int(chunk_size)

    def crops(self, images, rois):
        return roi_align(images, rois, self.crop_size, spatial_scale=1.0,
                         sampling_ratio=2, aligned=True)

    def classify(self, crops):
        out = self.net(crops)
        k = self.n_classes + 1
        return out[:, :k], out[:, k:].reshape(-1, k, 4)

    def forward(self, images, targets):
        targets = _as_device(targets, images.device)
        proposals = [t["proposals"] for t in targets]
        if self.training:
            rois, labels, box_targets = self.sample_rois(proposals, targets)
            logits, deltas = self.classify(self.crops(images, rois))
            cls, box = detection_losses(logits, deltas, labels, box_targets)
            return {"cls": cls, "box": box}
        batch = torch.cat([torch.full((len(p), 1), i, dtype=images.dtype,
                                      device=images.device)
                           for i, p in enumerate(proposals)]) if proposals else None
        rois = torch.cat([batch, torch.cat(proposals).to(images.dtype)], 1)
        logits, deltas = [], []
        for start in range(0, len(rois), self.chunk_size):
            lg, dl = self.classify(self.crops(images, rois[start:start + self.chunk_size]))
            logits.append(lg)
            deltas.append(dl)
        k = self.n_classes + 1
        logits = torch.cat(logits) if logits else images.new_zeros((0, k))
        deltas = torch.cat(deltas) if deltas else images.new_zeros((0, k, 4))
        return self.postprocess(logits, deltas, proposals, tuple(images.shape[-2:]))


def rcnn_network(architecture, in_channels, n_classes, crop_size, **config):
    """R-CNN's per-region CNN: ``build_cnn`` for ``crop_size`` crops with
    ``5 * (n_classes + 1)`` outputs (class logits, then four deltas per class)."""
    return build_cnn(architecture, in_channels, 5 * (n_classes + 1),
                     (crop_size, crop_size), **config)
