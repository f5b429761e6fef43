"""Class activation maps on make_shapes (issue 18): where the maps' cells lie in the
image, and CAM / Grad-CAM peaking inside each object's box."""
import numpy as np
import pytest

torch = pytest.importorskip("torch")

from skml.datasets import make_shapes  # noqa: E402
from skml.neural import CNNClassifier, class_activation_map, grad_cam  # noqa: E402
from skml.neural._modules.cnn import build_cnn, map_to_input, output_grid  # noqa: E402

# fixed-length trainings are what these tests want: max_iter is reached on purpose
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.mark.parametrize("arch, config, size", [
    ("resnet", dict(channels=(2, 2, 2), blocks=(1, 1, 1)), (48, 45)),
    ("vgg", dict(channels=(2, 2), blocks=(2, 1)), (20, 20)),
    ("densenet", dict(channels=(2, 2), blocks=(1, 1)), (16, 18)),
    ("alexnet", dict(channels=(2, 2, 2, 2, 2)), (80, 76)),
    ("lenet", dict(channels=(2, 2)), (32, 32)),
], ids=["resnet", "vgg", "densenet", "alexnet", "lenet"])
def test_output_grid_is_the_centre_of_each_cells_receptive_field(arch, config, size):
    # A linear network (identity activations, no normalisation, average pooling) of
    # positive weights: the input pixels a cell of the last map depends on (its
    # gradient's support) form a box centred on that cell's grid point.
    net = build_cnn(arch, 1, 2, size, activation="identity", norm=None, pooling="avg",
                    **config).eval()
    with torch.no_grad():
        for p in net.parameters():
            p.uniform_(0.5, 1.0)
    layer = net.get_submodule(net.feature_names[-1])
    x = torch.zeros(1, 1, *size, requires_grad=True)
    (oy, sy), (ox, sx) = output_grid(net, layer, x.detach())
    feats = net.features(x)
    h, w = feats.shape[-2:]
    checked = 0
    for i in range(h):
        for j in range(w):
            (g,) = torch.autograd.grad(feats[0, :, i, j].sum(), x, retain_graph=True)
            rows = np.flatnonzero(g[0, 0].abs().sum(1).numpy() > 0)
            cols = np.flatnonzero(g[0, 0].abs().sum(0).numpy() > 0)
            # cells whose field is cut by the image's border (zero padding) are skipped
            if rows[0] == 0 or cols[0] == 0 or rows[-1] == size[0] - 1 \
                    or cols[-1] == size[1] - 1:
                continue
            assert (rows[0] + rows[-1]) / 2 == pytest.approx(oy + sy * i)
            assert (cols[0] + cols[-1]) / 2 == pytest.approx(ox + sx * j)
            checked += 1
    assert checked >= 1


def test_output_grid_follows_a_resize_and_map_to_input_reads_the_grid():
    # LeNet on 8x8 images resized to 28x28 inside the network: 28-pixel coordinate u is
    # 8-pixel coordinate (u + 1/2) * 8 / 28 - 1/2; the last map's cell j is centred on
    # 28-pixel 5.5 + 4 j (conv 5x5 pad 2, pool 2, conv 5x5, pool 2)
    net = build_cnn("lenet", 1, 3, (8, 8), resize=(28, 28)).eval()
    grid = output_grid(net, net.conv2, torch.zeros(1, 1, 8, 8))
    centre = (5.5 + 0.5) * 8 / 28 - 0.5
    for axis in grid:
        assert axis == pytest.approx((centre, 4 * 8 / 28))
    # a map read on a grid: pixel r takes cell (r - offset) / step, linearly between
    # cells and constant past the outer ones
    maps = torch.tensor([[[0.0, 1.0, 4.0]]]).expand(1, 2, 3).contiguous()  # (1, 2, 3)
    up = map_to_input(maps, (4, 9), ((0.5, 2.0), (1.0, 3.0)))
    cols = np.interp(np.arange(9), [1.0, 4.0, 7.0], [0.0, 1.0, 4.0])
    np.testing.assert_allclose(up[0].numpy(), np.tile(cols, (4, 1)), atol=1e-6)
    # no grid: a plain bilinear resize (F.interpolate, align_corners=False)
    m = torch.randn(2, 5, 7, generator=torch.Generator().manual_seed(0))
    plain = torch.nn.functional.interpolate(m[:, None], size=(20, 21), mode="bilinear",
                                            align_corners=False)[:, 0]
    np.testing.assert_allclose(map_to_input(m, (20, 21)).numpy(), plain.numpy(),
                               atol=1e-5)


# ------------------------------------------------------------------ make_shapes


@pytest.fixture(scope="module")
def shapes_localisation():
    """A localisation set: grey 32x32 make_shapes images of one object each (13 to 19
    pixels across), its box from task="detection" (the classification images are the
    same), and a ResNet (global average pooling into the output layer, 8x8 last map)
    trained on 2000 of them, 12 epochs. Over random_state 0-3 (data and network) it
    classifies 97.5-99.5% of the held-out images and its maps hit 0.895-0.935 of the
    boxes (with 1500 images: 0.815-0.97)."""
    X, targets = make_shapes(2200, task="detection", max_objects=1, image_size=32,
                             n_channels=1, object_size=(0.4, 0.6), random_state=0)
    y = np.array([t["labels"][0] for t in targets])
    boxes = np.array([t["boxes"][0] for t in targets])
    clf = CNNClassifier("resnet", channels=(8, 16, 32), blocks=(1, 1, 2), max_iter=12,
                        batch_size=32, learning_rate_init=0.01, learning_rate="cosine",
                        augment={"flip": True}, random_state=0).fit(X[:2000], y[:2000])
    return clf, X[2000:], y[2000:], boxes[2000:]


def _peak_in_box(maps, boxes):
    """Share of maps whose maximum lies in the box ``(x1, y1, x2, y2)`` (pixel edges:
    pixel (r, c) is inside when x1 <= c < x2 and y1 <= r < y2)."""
    rows, cols = np.unravel_index(maps.reshape(len(maps), -1).argmax(1), maps.shape[1:])
    return np.mean((boxes[:, 0] <= cols) & (cols < boxes[:, 2])
                   & (boxes[:, 1] <= rows) & (rows < boxes[:, 3]))


def test_cam_and_grad_cam_peak_inside_the_shapes_box(shapes_localisation):
    clf, X, y, boxes = shapes_localisation
    assert clf.score(X, y) >= 0.95  # circle, square or triangle (chance: 1/3)
    # a map peaking at random would hit a box as often as the boxes' share of the image
    box_share = np.mean((boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])) / 32**2
    assert box_share < 0.25
    cam = class_activation_map(clf, X)
    gcam = grad_cam(clf, X)
    assert cam.shape == gcam.shape == (200, 32, 32)
    assert _peak_in_box(cam, boxes) >= 0.9, _peak_in_box(cam, boxes)
    assert _peak_in_box(gcam, boxes) >= 0.9, _peak_in_box(gcam, boxes)
    # the maps are read on the layer's grid: on average their peaks sit on the boxes'
    # centres (0.6 px off here), where a plain resize of the same 8x8 maps (cell j
    # taken at pixel 4 j + 1.5 instead of 4 j) moves them 1.5 px right and down
    net = clf.module_
    with torch.no_grad():
        x = torch.as_tensor(X)
        feats = net.features(x)
        w = net.head.out.weight[net(x).argmax(1)]
        raw = torch.einsum("nk,nkhw->nhw", w, feats)
    plain = map_to_input(raw, (32, 32)).numpy()
    aligned_off, plain_off = _mean_peak_offset(cam, boxes), _mean_peak_offset(plain, boxes)
    assert np.hypot(*aligned_off) < 1.0, aligned_off
    assert np.hypot(*plain_off) > np.hypot(*aligned_off) + 1.0, (plain_off, aligned_off)


def _mean_peak_offset(maps, boxes):
    """Mean ``(x, y)`` of each map's peak (pixel centre) less its box's centre."""
    rows, cols = np.unravel_index(maps.reshape(len(maps), -1).argmax(1), maps.shape[1:])
    return (np.mean(cols + 0.5 - (boxes[:, 0] + boxes[:, 2]) / 2),
            np.mean(rows + 0.5 - (boxes[:, 1] + boxes[:, 3]) / 2))
