"""Hostile input on the newest deep families (issues 17, 19, 20, 22): each test is a
defect found by feeding them what a careless or adversarial user would, fixed, and
checked against an independent reference or the exact error."""
import re
import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from skml.utils import InvalidParameterError  # noqa: E402

_TINY = dict(max_iter=1, random_state=0)


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def _unit_rows_np(E):
    """Rows of ``E`` over their Euclidean norm, in float64 after scaling each row by its
    largest entry (NumPy reference, no overflow)."""
    E = np.asarray(E, dtype=np.float64)
    peak = np.abs(E).max(axis=1, keepdims=True)
    peak[peak == 0] = 1.0
    E = E / peak
    return E / np.linalg.norm(E, axis=1, keepdims=True)


# ---------------------------------------------------------------- representation (22)

def test_unit_rows_survive_float32_overflow_and_underflow():
    # F.normalize squared float32 entries of 1e30 into inf: a zero vector came out
    from skml.neural._modules.contrastive import unit_rows

    x = torch.tensor([[3e30, -4e30], [3e-40, 4e-40], [0.0, 0.0], [0.3, -0.4]],
                     dtype=torch.float32)
    got = unit_rows(x).numpy()
    want = _unit_rows_np(x.numpy())
    want[2] = 0.0                            # a zero row stays zero
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=0)
    # ordinary rows: bit for bit the old F.normalize (the power-of-two scaling is exact)
    y = torch.randn(6, 5, generator=torch.Generator().manual_seed(0))
    assert torch.equal(unit_rows(y), torch.nn.functional.normalize(y, dim=1))


@pytest.mark.parametrize("which", ["triplet", "dual"])
def test_embeddings_of_large_rows_are_unit_vectors(which):
    # TripletEmbedding / DualEncoder promise unit rows; inputs of 1e30 gave all zeros
    from skml.neural import DualEncoder, TripletEmbedding

    rng = np.random.RandomState(0)
    X = rng.rand(12, 4)
    if which == "triplet":
        est = TripletEmbedding(n_components=2, hidden_layer_sizes=(4,), **_TINY)
        est.fit(X, np.arange(12) % 3)
        encoder = est.module_.encoder
    else:
        est = DualEncoder(n_components=2, hidden_layer_sizes=(4,), **_TINY)
        est.fit(X, X[:, :2])
        encoder = est.module_.encoder_a
    big = X[:3] * 1e30
    E = est.transform(big)
    with torch.no_grad():
        raw = encoder(torch.as_tensor(big, dtype=torch.float32)).double().numpy()
    assert np.isfinite(raw).all() and np.abs(raw).max() > 1e20
    np.testing.assert_allclose(E, _unit_rows_np(raw), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(np.linalg.norm(E, axis=1), 1.0, rtol=1e-5)


@pytest.mark.parametrize("encoder, n_conv", [("lenet", 2), ("alexnet", 5)])
def test_fixed_layout_encoder_with_wrong_channel_count(encoder, n_conv):
    # was "ValueError: not enough values to unpack" / "IndexError: tuple index out of
    # range" from inside the CNN builder
    from skml.neural import SimCLR

    X = np.random.RandomState(0).rand(4, 1, 8, 8)
    est = SimCLR(encoder=encoder, channels=(2,), n_components=2, **_TINY)
    with pytest.raises(ValueError, match=re.escape(
            f"channels must hold {n_conv} widths for encoder={encoder!r}, got (2,).")):
        est.fit(X)


# ---------------------------------------------------------------- sequences (20)

@pytest.mark.parametrize("kwargs, error, message", [
    (dict(d_model=8, n_heads=0), ValueError, "n_heads must be in [1, inf], got 0."),
    (dict(d_model=8, n_heads=-2), ValueError, "n_heads must be in [1, inf], got -2."),
    (dict(d_model=0, n_heads=1), ValueError, "d_model must be in [1, inf], got 0."),
    (dict(d_model=8.0, n_heads=2), TypeError, "d_model must be int"),
    (dict(d_model=8, n_heads=2, dropout=1.5), ValueError,
     "dropout must be in [0.0, 1.0], got 1.5."),
])
def test_attention_layer_rejects_bad_sizes(kwargs, error, message):
    # n_heads=0 was a ZeroDivisionError, n_heads=-2 a layer that fails in forward
    from skml.neural import MultiHeadSelfAttention

    with pytest.raises(error, match=re.escape(message)):
        MultiHeadSelfAttention(**kwargs)


def test_out_of_vocabulary_message_shows_the_ids_given():
    # a uint64 id of 2**64 - 1 was reported as -9223372036854775808 (int64 wrap), and
    # " ..." was appended whenever more than five positions were bad, not five ids
    from skml.neural import TransformerClassifier

    X = np.random.RandomState(0).randint(1, 6, size=(10, 4))
    clf = TransformerClassifier(vocab_size=6, padding_idx=0, d_model=4, n_heads=1,
                                n_layers=1, **_TINY).fit(X, np.arange(10) % 2)
    huge = np.full((1, 3), 2**64 - 1, dtype=np.uint64)
    with pytest.raises(ValueError, match=re.escape(
            f"[{int(np.float64(2**64 - 1))}]; raise vocab_size")):
        clf.predict(huge)
    with pytest.raises(ValueError, match=re.escape("[11, 12, 13, 14, 15]; raise")):
        clf.predict(np.tile([11, 12, 13, 14, 15], (4, 1)))


# ---------------------------------------------------------------- generative (17)

def test_flow_rejects_infinite_dequantize():
    # dequantize=inf passed validation and fit failed with "diverged ... lower
    # learning_rate_init"
    from skml.neural import NormalizingFlow

    X = np.random.RandomState(0).rand(10, 2)
    with pytest.raises(InvalidParameterError, match="dequantize must be in"):
        NormalizingFlow(n_layers=1, hidden_layer_sizes=(4,), dequantize=np.inf,
                        **_TINY).fit(X)


# ---------------------------------------------------------------- detection (19)

@pytest.mark.parametrize("bad", [np.inf, 1e30])
def test_detector_rejects_non_integer_float_labels(bad):
    # float labels of inf / 1e30 passed the "integer-valued" test, wrapped to int64 and
    # were reported as "must be non-negative integers, got -9223372036854775808"
    from skml.datasets import make_shapes
    from skml.neural import FasterRCNNDetector

    X, y = make_shapes(2, task="detection", image_size=32, random_state=0)
    y = [dict(t) for t in y]
    y[0]["labels"] = np.full(len(y[0]["labels"]), bad)
    det = FasterRCNNDetector(channels=(4, 4), blocks=(1, 1), anchor_sizes=(8, 16),
                             **_TINY)
    with pytest.raises(ValueError, match=re.escape(
            "y[0]['labels'] must be integers, got dtype float64.")):
        det.fit(X, y)


@pytest.mark.parametrize("scale", [1e-5, 1e-30])
def test_flow_likelihood_is_equivariant_to_the_data_scale(scale):
    # change of variables: log p_s(s x) = log p(x) - d log s. ActNorm's shift lived in
    # data units (Adam moved it by ~1e-3 a step: data of scale 1e-5 fitted at -4700
    # nats instead of -2) and its std floor of 1e-6 flattened data of scale 1e-30
    from sklearn.datasets import make_moons

    from skml.neural import NormalizingFlow

    X, _ = make_moons(200, noise=0.05, random_state=0)
    params = dict(n_layers=2, hidden_layer_sizes=(8,), max_iter=3, random_state=0)
    ref = NormalizingFlow(**params).fit(X).score(X)
    flow = NormalizingFlow(**params).fit(X * scale)
    assert flow.score(X * scale) + 2 * np.log(scale) == pytest.approx(ref, abs=0.05)
    spread = np.std(flow.sample(500, random_state=0), axis=0) / scale
    np.testing.assert_allclose(spread, np.std(X, axis=0), rtol=0.3)


def test_detector_rejects_uint64_labels_beyond_int64():
    # 2**64 - 1 wrapped to -1 and was reported as "must be non-negative, got -1"
    from skml.datasets import make_shapes
    from skml.neural import FasterRCNNDetector

    X, y = make_shapes(2, task="detection", image_size=32, random_state=0)
    y = [dict(t) for t in y]
    y[0]["labels"] = np.full(len(y[0]["labels"]), 2**64 - 1, dtype=np.uint64)
    det = FasterRCNNDetector(channels=(4, 4), blocks=(1, 1), anchor_sizes=(8, 16),
                             **_TINY)
    with pytest.raises(ValueError, match=re.escape(
            f"y[0]['labels'] must fit in int64, got {2**64 - 1}.")):
        det.fit(X, y)


# ---------------------------------------------------------------- graphs (20)

def _two_graphs():
    from scipy import sparse

    ring = sparse.csr_array(np.roll(np.eye(4), 1, 1) + np.roll(np.eye(4), -1, 1))
    path = sparse.csr_array(np.diag(np.ones(3), 1) + np.diag(np.ones(3), -1))
    return [(ring, np.ones((4, 1))), (path, np.ones((4, 1)))] * 2, [0, 1] * 2


def test_graph_classifier_input_mistakes_get_clear_errors():
    # were numpy's "setting an array element with a sequence ... inhomogeneous shape",
    # "Expected 2D array, got 1D array" and an unnamed "Found array with 0 sample(s)"
    from scipy import sparse

    from skml.neural import GNNGraphClassifier

    graphs, y = _two_graphs()
    clf = GNNGraphClassifier(hidden_layer_sizes=(4,), **_TINY).fit(graphs, y)
    with pytest.raises(TypeError, match=re.escape(
            "X must be a list of graphs; got a single graph tuple")):
        clf.predict(graphs[0])
    with pytest.raises(ValueError, match=re.escape("X holds no graphs: give at least one.")):
        clf.predict([])
    empty = (sparse.csr_array((0, 0)), np.zeros((0, 1)))
    with pytest.raises(ValueError, match=re.escape(
            "X[1] has no nodes: a graph needs at least one node.")):
        clf.predict([graphs[0], empty])
    # a list of graphs keeps working, as does a table of one-node graphs
    assert clf.predict(graphs).shape == (4,)
    assert clf.predict(np.ones((3, 1))).shape == (3,)


def test_node_classifier_given_a_list_instead_of_a_graph_tuple():
    from scipy import sparse

    from skml.neural import GNNNodeClassifier

    A = sparse.csr_array(np.array([[0, 1], [1, 0]]))
    with pytest.raises(TypeError, match=re.escape(
            "X must be a graph tuple (adjacency, node_features[, edge_features]), got a "
            "list; pass tuple(X).")):
        GNNNodeClassifier(hidden_layer_sizes=(4,), **_TINY).fit([A, np.eye(2)], [0, 1])


# ---------------------------------------------------------------- diffusion (17)

def _ddpm(**params):
    from skml.neural import DiffusionModel

    return DiffusionModel(**{**dict(hidden_layer_sizes=(8,), n_timesteps=10,
                                    embedding_dim=4), **_TINY, **params})


@pytest.fixture(scope="module")
def _conditional_ddpm():
    X = np.random.RandomState(0).rand(20, 2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return _ddpm().fit(X, np.arange(20) % 2)


@pytest.mark.parametrize("override, message", [
    (dict(eta=-1.0, sampler="ddim"), "eta must be in [0, 1e+300), got -1.0."),
    (dict(eta=np.inf, sampler="ddim"), "eta must be in [0, 1e+300), got inf."),
    (dict(guidance_scale=np.nan), "guidance_scale must not be NaN."),
    (dict(guidance_scale=np.inf), "guidance_scale must be in (-1e+300, 1e+300), got inf."),
])
def test_diffusion_sample_overrides_are_validated(_conditional_ddpm, override, message):
    # eta=-1 sampled deterministically without a word; NaN or inf gave NaN samples
    # reported as "diverged ... use clip_sample=True" (already True)
    with pytest.raises(InvalidParameterError, match=re.escape(message)):
        _conditional_ddpm.sample(2, y=[0, 1], random_state=0, **override)


@pytest.mark.parametrize("param", ["eta", "guidance_scale"])
def test_diffusion_rejects_infinite_parameters(param):
    X = np.random.RandomState(0).rand(20, 2)
    with pytest.raises(InvalidParameterError, match=f"{param} must be in"):
        _ddpm(**{param: np.inf}).fit(X, np.arange(20) % 2)


def test_diffusion_rejects_nan_labels():
    # a NaN label was accepted as a class that sample(y=nan) could never match
    X = np.random.RandomState(0).rand(20, 2)
    y = np.where(np.arange(20) % 2, 1.0, np.nan)
    with pytest.raises(ValueError, match="Input y contains NaN"):
        _ddpm().fit(X, y)


def test_noise_schedule_without_first_step_noise_is_rejected():
    # beta_start=1e-300: 1 - beta rounds to 1, and sampling died of ZeroDivisionError
    X = np.random.RandomState(0).rand(20, 2)
    with pytest.raises(ValueError, match=re.escape(
            "beta_start=1e-300 is too small: the first step's variance")):
        _ddpm(beta_start=1e-300, beta_end=1e-300).fit(X)


def test_linear_schedule_caps_a_large_rescaled_beta_start():
    # the 1000 / T rescaling capped beta_end at 0.999 but not beta_start: at T = 10,
    # beta_start = 0.02 became beta = 2, alpha = -1 and the training loss NaN
    from skml.neural._modules.diffusion import NoiseSchedule

    sched = NoiseSchedule(10, "linear", 0.02, 0.05)
    betas = sched.betas.numpy()
    assert np.all((betas > 0) & (betas <= 0.999))
    abar = sched.alphas_cumprod.numpy()
    np.testing.assert_allclose(abar, np.cumprod(1 - betas), rtol=1e-12)
    assert np.all(abar > 0) and np.all(np.diff(abar) < 0)
    X = np.random.RandomState(0).rand(20, 2)
    samples = _ddpm(beta_start=0.02, beta_end=0.05).fit(X).sample(5, random_state=0)
    assert np.isfinite(samples).all()


def test_unet_samples_one_image_with_a_one_pixel_bottom_level():
    # 4x4 images and channels=(2, 2, 2): the bottom level is 1x1 with one channel per
    # GroupNorm group; torch refused a batch of one such image, so sample(1) (and a
    # last training batch of one) raised "Expected more than 1 value per channel".
    # Reference: the same image inside a batch of two (torch's own GroupNorm).
    from torch import nn

    from skml.neural._modules.diffusion import _GroupNorm

    x = torch.randn(2, 2, 1, 1, generator=torch.Generator().manual_seed(0))
    ours, ref = _GroupNorm(2, 2), nn.GroupNorm(2, 2)
    with torch.no_grad():
        ours.bias.copy_(torch.tensor([0.5, -1.0]))
        ref.load_state_dict(ours.state_dict())
    torch.testing.assert_close(ours(x[:1]), ref(x)[:1])

    X = np.random.RandomState(0).rand(6, 1, 4, 4)
    ddpm = _ddpm(channels=(2, 2, 2), sampler="ddim", eta=0.0).fit(X)
    one = ddpm.sample(1, random_state=0)
    two = ddpm.sample(2, random_state=0)  # deterministic after the same first noise
    np.testing.assert_allclose(one[0], two[0], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", ["ConditionalGAN", "DiffusionModel", "TripletEmbedding"])
def test_labels_of_mixed_types_get_a_clear_error(name):
    # np.unique's sort raised "TypeError: '<' not supported between instances of 'str'
    # and 'int'" (scikit-learn's classifiers say "Unknown label type")
    from skml import neural

    small = {"ConditionalGAN": dict(n_components=2, generator_layer_sizes=(4,),
                                    discriminator_layer_sizes=(4,)),
             "DiffusionModel": dict(hidden_layer_sizes=(4,), n_timesteps=5),
             "TripletEmbedding": dict(n_components=2, hidden_layer_sizes=(4,))}[name]
    X = np.random.RandomState(0).rand(12, 3)
    y = np.array([0, "a", 1.5] * 4, dtype=object)
    with pytest.raises(ValueError, match=re.escape(
            "y mixes labels of types that cannot be ordered into classes")):
        getattr(neural, name)(**small, **_TINY).fit(X, y)


def test_unet_with_more_levels_than_memory_gets_a_clear_error():
    # 29 halvings pad a 4x4 image to 2**29 x 2**29: torch's allocator failed with
    # "RuntimeError: ... you tried to allocate 6917529027641081856 bytes"
    X = np.random.RandomState(0).rand(4, 1, 4, 4)
    with pytest.raises(ValueError, match=re.escape(
            "one image padded to 536870912x536870912 by the 29 halvings of channels=")):
        _ddpm(channels=(2,) * 30).fit(X)


def test_latent_diffusion_codes_near_float64_limits():
    # codes of magnitude 1e300: their std overflowed to inf and sample() returned NaN
    # without a word; NaN codes were reported as "diverged ... lower learning_rate_init"
    from sklearn.preprocessing import FunctionTransformer

    from skml.neural import LatentDiffusion

    X = np.random.RandomState(0).rand(20, 3)
    params = dict(hidden_layer_sizes=(8,), n_timesteps=5, embedding_dim=4, **_TINY)
    plain = LatentDiffusion(FunctionTransformer(), **params).fit(X)
    huge = LatentDiffusion(FunctionTransformer(func=lambda a: a * 1e300,
                                               inverse_func=lambda a: a / 1e300),
                           **params).fit(X)
    # the diffusion runs on standardised codes: the same samples, scaled back
    np.testing.assert_allclose(huge.sample(4, random_state=0),
                               plain.sample(4, random_state=0), rtol=1e-6, atol=1e-12)
    nan_codes = FunctionTransformer(func=lambda a: a * np.nan, inverse_func=lambda a: a)
    with pytest.raises(ValueError, match=re.escape(
            "the autoencoder's transform returned non-finite codes (NaN or infinity).")):
        LatentDiffusion(nan_codes, **params).fit(X)


def test_prototypical_network_far_queries_keep_the_nearest_prototype():
    # queries of 1e30 embed at ~1e29: squared distances ~1e57 cannot hold the ~1e26
    # gaps between prototypes, and predict_proba came out uniform (1/3 each).
    # Reference: exact rational distances of the same float64 embeddings.
    from fractions import Fraction

    from scipy.special import softmax

    from skml.neural import PrototypicalNetwork

    rng = np.random.RandomState(0)
    X, y = rng.rand(24, 6), np.arange(24) % 3
    net = PrototypicalNetwork(n_components=2, hidden_layer_sizes=(4,), n_way=2,
                              **_TINY).fit(X, y)

    def embed(A):
        with torch.no_grad():
            return net.module_(torch.as_tensor(A, dtype=torch.float32)).double().numpy()

    protos = net.prototypes_.astype(np.float64)
    far = X[:4] * 1e30
    exact = [[sum((Fraction(float(e)) - Fraction(float(p))) ** 2 for e, p in zip(row, q))
              for q in protos] for row in embed(far)]
    nearest = np.array([int(np.argmin([float(d - min(r)) for d in r])) for r in exact])
    np.testing.assert_array_equal(net.predict(far), net.classes_[nearest])
    np.testing.assert_array_equal(net.predict_proba(far), np.eye(3)[nearest])
    # ordinary queries: the softmax of minus the plain squared distances
    E = embed(X[:5])
    d = ((E[:, None, :] - protos[None, :, :]) ** 2).sum(-1)
    np.testing.assert_allclose(net.predict_proba(X[:5]), softmax(-d, axis=1), rtol=1e-12)


@pytest.mark.parametrize("empty", [{}, (np.zeros((0, 2)), [])])
def test_prototypical_network_empty_class_attributes(empty):
    # an empty dict raised check_array's "Expected 2D array, got 1D array instead"
    from skml.neural import PrototypicalNetwork

    rng = np.random.RandomState(0)
    X, y = rng.rand(12, 4), np.arange(12) % 2
    net = PrototypicalNetwork(n_components=2, hidden_layer_sizes=(4,), n_way=2, **_TINY)
    net.fit(X, y, class_attributes={0: [1.0, 0.0], 1: [0.0, 1.0]})
    with pytest.raises(ValueError, match=re.escape(
            "class_attributes is empty: give at least one class.")):
        net.predict(X[:2], class_attributes=empty)
