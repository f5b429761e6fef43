"""skml.neural.vision.FCNSegmenter (issue 18): segmentation of make_shapes images with
both upsamplings and both losses, the checkerboard of transposed convolutions, the mean
IoU score, the input contract; and skml.datasets.make_shapes itself."""
import numpy as np
import pytest
from sklearn.metrics import confusion_matrix

torch = pytest.importorskip("torch")

from skml.datasets import make_shapes, place_on_canvas  # noqa: E402
from skml.neural import FCNSegmenter  # noqa: E402
from skml.neural._modules.fcn import FCN, checkerboard_energy  # noqa: E402
from skml.metrics import iou_score  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


#: The segmenters' recipe: U-Net-like concatenated skips, 14 epochs on 900 images with a
#: cosine learning-rate schedule (with summed skips or a constant rate, the held-out
#: mean IoU varies much more between seeds: see the user guide).
RECIPE = dict(channels=(8, 16, 32), skip="concat", max_iter=14, batch_size=16,
              learning_rate_init=0.01, learning_rate="cosine", random_state=0)


@pytest.fixture(scope="module")
def shapes_masks():
    """24x24 colour images of up to 3 shapes; the masks per class: 0 background, 1
    circle, 2 square, 3 triangle (telling the shapes apart needs the whole object in
    view, hence 24 pixels and three resolutions)."""
    X, masks = make_shapes(1000, task="segmentation", image_size=24, max_objects=3,
                           random_state=0)
    return X[:900], masks[:900], X[900:], masks[900:]


@pytest.fixture(scope="module")
def segmenters(shapes_masks):
    Xtr, Mtr, _, _ = shapes_masks
    return {up: FCNSegmenter(upsample=up, **RECIPE).fit(Xtr, Mtr)
            for up in ("transposed", "resize_conv")}


@pytest.mark.parametrize("upsample", ["transposed", "resize_conv"])
def test_both_upsamplings_segment_the_shapes_per_class(segmenters, shapes_masks, upsample):
    _, _, Xte, Mte = shapes_masks
    seg = segmenters[upsample]
    labels = [0, 1, 2, 3]
    assert list(seg.classes_) == labels
    pred = seg.predict(Xte)
    assert pred.shape == Mte.shape and set(np.unique(pred)) <= set(labels)
    miou = seg.score(Xte, Mte)
    assert miou >= 0.8
    # against sklearn's confusion matrix: IoU_c = C_cc / (row_c + col_c - C_cc)
    cm = confusion_matrix(Mte.ravel(), pred.ravel(), labels=labels)
    iou = np.diag(cm) / (cm.sum(0) + cm.sum(1) - np.diag(cm))
    assert miou == pytest.approx(iou.mean(), rel=1e-12)
    # every shape is found, not only the background and the easiest shape
    assert iou.min() >= 0.6, iou
    # a constant guess of the majority class: the background's IoU only, over 4
    assert miou > iou_score(Mte, np.zeros_like(Mte), labels=labels,
                            zero_division=0.0) + 0.5
    # the object/background split alone is not enough: the same pixels with the
    # shape classes shuffled score far lower
    swapped = np.array([0, 2, 3, 1])[pred]
    assert miou > iou_score(Mte, swapped, labels=labels) + 0.4


def test_transposed_convolution_leaves_more_checkerboard_on_a_constant_image(segmenters):
    # the decoder's map before the classifier, on a uniform grey image: no structure to
    # segment, so high-frequency energy is artifact (Odena et al.). Only the centre is
    # measured: near the zero-padded borders both decoders see the same sharp edges
    # (with concatenated skips they reach the last block unsmoothed), which would
    # swamp the comparison
    const = torch.full((1, 3, 32, 32), 0.5)
    energy = {}
    for up, seg in segmenters.items():
        with torch.no_grad():
            centre = seg.module_.decode(const)[..., 8:-8, 8:-8]
        assert float(centre.std()) > 1e-4  # not a constant map (its share is rounding)
        energy[up] = float(checkerboard_energy(centre).mean())
    assert energy["transposed"] > 2 * energy["resize_conv"], energy


def test_checkerboard_energy_of_known_patterns():
    yy, xx = np.mgrid[0:16, 0:16]
    board = torch.tensor((-1.0) ** (yy + xx))
    smooth = torch.tensor(np.sin(2 * np.pi * xx / 16.0))
    assert float(checkerboard_energy(board)) == pytest.approx(1.0)
    assert float(checkerboard_energy(smooth)) == pytest.approx(0.0, abs=1e-10)
    assert float(checkerboard_energy(torch.ones(16, 16))) == 0.0


def test_dice_loss_trains_and_equals_its_formula():
    # object (1) or background (0) on small images: the loss trains, cheaply
    X, masks = make_shapes(200, task="segmentation", image_size=16, max_objects=3,
                           random_state=0)
    masks = (masks > 0).astype(np.int64)
    Xtr, Mtr, Xte, Mte = X[:150], masks[:150], X[150:], masks[150:]
    seg = FCNSegmenter(channels=(8, 16), loss="dice", max_iter=8, batch_size=16,
                       learning_rate_init=0.01, random_state=0).fit(Xtr, Mtr)
    assert seg.score(Xte, Mte) >= 0.75
    # the loss: 1 - mean_c (2 |p t| + 1) / (|p| + |t| + 1), per image
    out = torch.randn(3, 2, 5, 5, dtype=torch.float64)
    t = torch.randint(0, 2, (3, 5, 5))
    got = seg._build_loss(torch.device("cpu"))(out, t)
    p = torch.softmax(out, 1).numpy()
    onehot = np.stack([(t.numpy() == c) for c in range(2)], 1)
    ref = 1 - ((2 * (p * onehot).sum((2, 3)) + 1)
               / (p.sum((2, 3)) + onehot.sum((2, 3)) + 1)).mean(1)
    np.testing.assert_allclose(got.numpy(), ref, rtol=1e-12)


def test_labels_masks_proba_and_other_image_sizes():
    X, masks = make_shapes(40, task="segmentation", image_size=12, max_objects=2,
                           random_state=1)
    seg = FCNSegmenter(channels=(4, 8, 8), max_iter=2, random_state=0).fit(X, masks)
    assert list(seg.classes_) == sorted(np.unique(masks))
    proba = seg.predict_proba(X[:3])
    assert proba.shape == (3, len(seg.classes_), 12, 12)
    np.testing.assert_allclose(proba.sum(1), 1.0, rtol=1e-6)
    np.testing.assert_array_equal(seg.predict(X[:3]), seg.classes_[proba.argmax(1)])
    # fully convolutional: any size, also not a multiple of the 4x downsampling
    assert seg.predict(np.zeros((2, 3, 13, 7))).shape == (2, 13, 7)
    assert seg.n_features_in_ == 3
    with pytest.raises(ValueError, match="images of 1 channels, but FCNSegmenter was "
                                         "fitted on 3"):
        seg.predict(X[:2, :1])
    with pytest.raises(ValueError, match=r"one mask per image, of shape \(40, 12, 12\)"):
        FCNSegmenter(max_iter=1).fit(X, masks[:, :6])
    with pytest.raises(ValueError, match="norm='batch' needs batches of at least 2"):
        FCNSegmenter(max_iter=1).fit(X[:1], masks[:1])
    # string labels per pixel
    names = np.array(["bg", "circle", "square", "triangle"])[masks]
    seg = FCNSegmenter(channels=(4, 8), max_iter=1, random_state=0).fit(X, names)
    assert seg.predict(X[:1]).dtype == names.dtype


@pytest.mark.parametrize("skip", ["sum", "concat"])
def test_fcn_module_pads_and_crops_any_size(skip):
    net = FCN(3, 4, channels=(4, 8, 8), upsample="resize_conv", skip=skip).eval()
    for h, w in [(16, 16), (13, 7), (1, 1)]:
        assert net(torch.zeros(2, 3, h, w)).shape == (2, 4, h, w)
    # a decoder block reads the upsampled map and the encoder's: stacked or added
    widths = [block.conv1.in_channels for block in net.decoder]
    assert widths == ([16, 8] if skip == "concat" else [8, 4])
    with pytest.raises(ValueError, match="skip must be one of"):
        FCN(3, 4, skip="max")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_training_and_prediction():
    X, masks = make_shapes(32, task="segmentation", image_size=16, max_objects=2,
                           random_state=0)
    seg = FCNSegmenter(channels=(4, 8), skip="concat", max_iter=2, device="cuda",
                       random_state=0).fit(X, masks)
    assert next(seg.module_.parameters()).device.type == "cuda"
    assert seg.predict(X[:4]).shape == (4, 16, 16)
    assert 0.0 <= seg.score(X, masks) <= 1.0


# ------------------------------------------------------------------ make_shapes


def test_make_shapes_tasks_share_images_and_are_consistent():
    X, y = make_shapes(30, image_size=20, random_state=0)
    Xd, targets = make_shapes(30, task="detection", max_objects=1, image_size=20,
                              random_state=0)
    Xs, masks = make_shapes(30, task="segmentation", max_objects=1, image_size=20,
                            random_state=0)
    assert X.shape == (30, 3, 20, 20) and X.dtype == np.float32
    assert X.min() >= 0.0 and X.max() <= 1.0
    np.testing.assert_array_equal(X, Xd)
    np.testing.assert_array_equal(X, Xs)
    for label, t, mask in zip(y, targets, masks):
        assert list(t["labels"]) == [label]
        # the box is the tightest one around the mask's pixels (pixel-edge coordinates)
        rows, cols = np.nonzero(mask)
        np.testing.assert_array_equal(
            t["boxes"][0], [cols.min(), rows.min(), cols.max() + 1, rows.max() + 1])
        assert set(np.unique(mask)) == {0, label + 1}
    assert set(np.unique(y)) == {0, 1, 2}


def test_make_shapes_objects_do_not_overlap_by_default_and_bad_arguments():
    _, targets = make_shapes(20, task="detection", max_objects=4, image_size=32,
                             random_state=0)
    for t in targets:
        b = t["boxes"]
        assert 1 <= len(b) <= 4
        for i in range(len(b)):
            for j in range(i):
                iw = min(b[i, 2], b[j, 2]) - max(b[i, 0], b[j, 0])
                ih = min(b[i, 3], b[j, 3]) - max(b[i, 1], b[j, 1])
                assert iw <= 0 or ih <= 0
    with pytest.raises(ValueError, match="task"):
        make_shapes(2, task="depth")
    with pytest.raises(ValueError, match="image_size"):
        make_shapes(2, image_size=4)
    with pytest.raises(ValueError, match="object_size"):
        make_shapes(2, object_size=(0.6, 0.3))


def test_place_on_canvas_pastes_each_image_inside_its_box():
    rng = np.random.RandomState(0)
    images = rng.uniform(0.5, 1.0, (10, 2, 3, 4))
    canvases, boxes = place_on_canvas(images, (9, 7), noise=0.05, random_state=1)
    assert canvases.shape == (10, 2, 9, 7)
    for img, canvas, (x1, y1, x2, y2) in zip(images, canvases, boxes.astype(int)):
        assert (x2 - x1, y2 - y1) == (4, 3) and x1 >= 0 and x2 <= 7 and y2 <= 9
        # the image is there (noise below 0.5 never exceeds it) and nothing else is
        np.testing.assert_array_equal(canvas[:, y1:y2, x1:x2], img)
        outside = canvas.copy()
        outside[:, y1:y2, x1:x2] = 0
        assert outside.max() < 0.5
    with pytest.raises(ValueError, match="smaller than the images"):
        place_on_canvas(images, 3)
