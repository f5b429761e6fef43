"""The example of the user guide's "Writing a new deep estimator" runs as printed: the
code block is read from doc/user_guide/neural.rst and executed, and the estimator it
defines learns its quantile, honours the shared vocabulary and pickles."""
import inspect
import pickle
import re
import textwrap
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

from skml.neural import NeuralEstimator  # noqa: E402
from skml.neural._docs import TRAINING_PARAMS  # noqa: E402

GUIDE = Path(__file__).resolve().parents[2] / "doc" / "user_guide" / "neural.rst"


@pytest.fixture(scope="module")
def QuantileMLP():
    text = GUIDE.read_text()
    section = text[text.index("Writing a new deep estimator"):]
    block = re.search(r"\.\. code-block:: python\n\n((?:   .*\n|\n)+)", section).group(1)
    namespace = {}
    exec(compile(textwrap.dedent(block), str(GUIDE), "exec"), namespace)
    return namespace["QuantileMLP"]


def test_the_guide_example_learns_its_quantile(QuantileMLP):
    rng = np.random.RandomState(0)
    X = rng.uniform(-2, 2, size=(1500, 1))
    y = X[:, 0] + (0.5 + 0.5 * np.abs(X[:, 0])) * rng.randn(1500)  # heteroscedastic
    est = QuantileMLP(quantile=0.9, hidden_layer_sizes=(32,), learning_rate_init=0.01,
                      max_iter=60, random_state=0).fit(X[:1000], y[:1000])
    covered = np.mean(y[1000:] <= est.predict(X[1000:]))
    assert abs(covered - 0.9) < 0.05, covered
    # the band widens with |x|, as the noise does
    wide, narrow = est.predict([[1.9], [0.0]])
    assert wide - 1.9 > narrow + 0.3
    # pickling's round trip (the class itself lives in an exec'd namespace, so it goes
    # through __getstate__/__setstate__ directly; the bytes are picklable)
    state = pickle.loads(pickle.dumps(est.__getstate__()))
    loaded = QuantileMLP.__new__(QuantileMLP)
    loaded.__setstate__(state)
    np.testing.assert_array_equal(loaded.predict(X[:5]), est.predict(X[:5]))


def test_the_guide_example_follows_the_contract(QuantileMLP):
    assert issubclass(QuantileMLP, NeuralEstimator) and TRAINING_PARAMS in QuantileMLP.__doc__
    base = inspect.signature(NeuralEstimator.__init__).parameters
    own = inspect.signature(QuantileMLP.__init__).parameters
    assert all(own[k].default == p.default for k, p in base.items() if k != "self")
    X, y = np.random.RandomState(0).randn(40, 2), np.random.RandomState(1).randn(40)
    with pytest.raises(ValueError, match=r"quantile must be in \(0, 1\)"):
        QuantileMLP(quantile=1.5).fit(X, y)
    with pytest.raises(ValueError, match="learning_rate_init must be"):
        QuantileMLP(learning_rate_init=-1.0).fit(X, y)
    weighted = QuantileMLP(max_iter=3, random_state=0).fit(X, y, sample_weight=np.arange(40))
    assert weighted.n_iter_ == 3
