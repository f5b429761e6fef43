"""Class activation maps on make_shapes (issue 18): where the maps' cells lie in the
image, and CAM / Grad-CAM peaking inside each object's box."""
import numpy as np
import pytest

torch = pytest.importorskip("torch")

from skml.neural._modules.cnn import build_cnn, map_to_input, output_grid  # noqa: E402


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
