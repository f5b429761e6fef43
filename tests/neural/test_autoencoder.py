"""AutoEncoder: beats PCA at equal code size, denoises, sparse penalties, transformer API."""
import pickle

import numpy as np
import pytest

torch = pytest.importorskip("torch")

# fixed-length trainings are what these tests want: max_iter is reached on purpose
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

from sklearn.decomposition import PCA  # noqa: E402

from skml.neural import AutoEncoder  # noqa: E402


@pytest.fixture(scope="module")
def ae_2d(digits_split):
    Xtr = digits_split[0]
    return AutoEncoder(hidden_layer_sizes=(128, 64), n_components=2,
                       output_activation="sigmoid", learning_rate_init=1e-2, batch_size=128, max_iter=25,
                       random_state=0).fit(Xtr)


def test_two_dimensional_code_reconstructs_digits_better_than_pca(ae_2d, digits_split):
    Xtr, Xte = digits_split[:2]
    pca = PCA(n_components=2).fit(Xtr)
    mse_pca = np.mean((pca.inverse_transform(pca.transform(Xte)) - Xte) ** 2)
    mse_ae = np.mean((ae_2d.inverse_transform(ae_2d.transform(Xte)) - Xte) ** 2)
    assert mse_ae < 0.8 * mse_pca, (mse_ae, mse_pca)
    assert ae_2d.score(Xte) == pytest.approx(-mse_ae, rel=1e-5)


def test_transformer_api(ae_2d, digits_split):
    Xte = digits_split[1]
    code = ae_2d.transform(Xte)
    assert code.shape == (len(Xte), 2) and code.dtype == np.float64
    rec = ae_2d.inverse_transform(code)
    assert rec.shape == Xte.shape and 0 <= rec.min() and rec.max() <= 1  # sigmoid output
    assert ae_2d.transform(Xte.astype(np.float32)).dtype == np.float32
    assert list(ae_2d.get_feature_names_out()) == ["autoencoder0", "autoencoder1"]
    np.testing.assert_allclose(ae_2d.score_samples(Xte),
                               -np.mean((rec - Xte) ** 2, axis=1), rtol=1e-5)
    with pytest.raises(ValueError, match="expecting 2 features"):
        ae_2d.inverse_transform(code[:, :1])
    loaded = pickle.loads(pickle.dumps(ae_2d))
    np.testing.assert_array_equal(loaded.transform(Xte), code)


def test_decoder_mirrors_the_encoder_unless_given(digits_split):
    Xtr = digits_split[0][:200]
    ae = AutoEncoder(hidden_layer_sizes=(32, 16), n_components=3, max_iter=1).fit(Xtr)
    widths = [m.out_features for m in ae.module_.decoder if isinstance(m, torch.nn.Linear)]
    assert widths == [16, 32, 64]
    ae = AutoEncoder(hidden_layer_sizes=(32, 16), n_components=3, decoder_layer_sizes=(8,),
                     max_iter=1).fit(Xtr)
    widths = [m.out_features for m in ae.module_.decoder if isinstance(m, torch.nn.Linear)]
    assert widths == [8, 64]


def test_denoising_autoencoder_removes_added_noise(digits_split):
    Xtr, Xte = digits_split[:2]
    dae = AutoEncoder(hidden_layer_sizes=(128,), n_components=16, denoising=0.3,
                      output_activation="sigmoid", learning_rate_init=3e-3, batch_size=64, max_iter=30,
                      random_state=0).fit(Xtr)
    noisy = Xte + 0.3 * np.random.RandomState(1).randn(*Xte.shape)
    mse_noisy = np.mean((noisy - Xte) ** 2)
    mse_denoised = np.mean((dae.inverse_transform(dae.transform(noisy)) - Xte) ** 2)
    assert mse_denoised < 0.5 * mse_noisy, (mse_denoised, mse_noisy)
    # the noise is a training-time input corruption only: inference is deterministic
    np.testing.assert_array_equal(dae.transform(Xte), dae.transform(Xte))


@pytest.mark.parametrize("sparsity", ["l1", "kl"])
def test_sparsity_penalties_make_the_code_sparse(sparsity, digits_split):
    Xtr = digits_split[0]
    params = dict(hidden_layer_sizes=(64,), n_components=32, learning_rate_init=3e-3, batch_size=64,
                  max_iter=10, random_state=0)
    weight = 0.05 if sparsity == "l1" else 0.5
    plain = AutoEncoder(**params, sparsity=sparsity, sparsity_weight=0.0).fit(Xtr)
    sparse = AutoEncoder(**params, sparsity=sparsity, sparsity_weight=weight, rho=0.05).fit(Xtr)
    a_plain, a_sparse = np.abs(plain.transform(Xtr)), np.abs(sparse.transform(Xtr))
    if sparsity == "l1":
        assert a_sparse.mean() < 0.3 * a_plain.mean()
    else:  # sigmoid code whose mean activation is pulled towards rho
        assert 0 < a_sparse.min() and a_sparse.max() < 1
        assert abs(a_sparse.mean() - 0.05) < 0.03 < abs(a_plain.mean() - 0.05)
