"""PrototypicalNetwork (issue 22): episodes, few-shot prediction on classes never seen
in training, one-shot, zero-shot from class attributes, bad input, seeding, pickling."""
import pickle
import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from sklearn.datasets import load_digits  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402

from skml.neural import PrototypicalNetwork  # noqa: E402
from tests.neural.test_contrastive import label_glyphs  # noqa: E402


PROTO = dict(n_components=256, hidden_layer_sizes=(), encoder="mlp", image_shape=(8, 8),
             augmentation="auto", max_iter=2, learning_rate_init=3e-4, random_state=0)


def _quiet(fit):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return fit()


@pytest.fixture(scope="module")
def split():
    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    seen = y < 5
    return X[seen], y[seen], X[~seen], y[~seen]


@pytest.fixture(scope="module")
def net(split):
    Xs, ys, _, _ = split
    # a linear embedding of the pixels (as 8x8 images, augmented): a deeper one
    # specialises to the five training classes and transfers worse to new ones
    return _quiet(lambda: PrototypicalNetwork(**PROTO).fit(Xs, ys))


def _episodes(score, Xn, yn, shot, n_episodes=20, seed=0):
    """Mean accuracy of 5-way ``shot``-shot episodes over the held-out classes, the
    queries being every other held-out sample."""
    rng = np.random.RandomState(seed)
    accs = []
    for _ in range(n_episodes):
        support = np.concatenate([rng.choice(np.flatnonzero(yn == c), shot, replace=False)
                                  for c in np.unique(yn)])
        query = np.setdiff1d(np.arange(len(yn)), support)
        accs.append(score(Xn[query], yn[query], (Xn[support], yn[support])))
    return float(np.mean(accs))


def _raw_score(Xq, yq, support):
    Xs, ys = support
    labels = np.unique(ys)
    protos = np.stack([Xs[ys == c].mean(0) for c in labels])
    d = ((Xq[:, None] - protos[None]) ** 2).sum(-1)
    return np.mean(labels[d.argmin(1)] == yq)


def test_episodes_are_k_way_n_shot_and_seeded(split):
    Xs, ys, _, _ = split
    est = PrototypicalNetwork(n_way=3, n_shot=2, n_query=4)
    data = (torch.from_numpy(Xs[:200].astype(np.float32)),
            torch.from_numpy(ys[:200].astype(np.int64)), None)
    eps = list(est._batches(data, torch.Generator().manual_seed(0)))
    assert len(eps) == int(np.ceil(200 / (3 * 6)))
    labels = torch.from_numpy(ys[:200])
    lookup = {tuple(r.tolist()): int(c) for r, c in zip(data[0], labels)}
    for support, query, classes in eps:
        assert support.shape == (6, 64) and query.shape == (12, 64)
        assert len(set(classes.tolist())) == 3
        sup = [lookup[tuple(r.tolist())] for r in support]
        qry = [lookup[tuple(r.tolist())] for r in query]
        assert sup == np.repeat(classes.numpy(), 2).tolist()
        assert qry == np.repeat(classes.numpy(), 4).tolist()
    again = list(est._batches(data, torch.Generator().manual_seed(0)))
    assert all(torch.equal(a[0], b[0]) for a, b in zip(eps, again))


def test_few_shot_on_classes_never_seen(net, split):
    """5-way 1-shot >= 0.7 and 5-shot >= 0.85 on the digits 5-9, held out of training
    (measured 0.75 / 0.89; nearest class mean of raw pixels: 0.71 / 0.89)."""
    _, _, Xn, yn = split

    def score(Xq, yq, support):
        return net.score(Xq, yq, support=support)
    one, five = _episodes(score, Xn, yn, 1), _episodes(score, Xn, yn, 5)
    assert one >= 0.7, one
    assert five >= 0.85, five
    assert one >= _episodes(_raw_score, Xn, yn, 1)  # not below raw pixels


def test_predict_without_support_uses_training_prototypes(net, split):
    Xs, ys, _, _ = split
    assert net.prototypes_.shape == (5, 256)
    assert net.score(Xs, ys) >= 0.9
    proba = net.predict_proba(Xs[:10])
    assert np.array_equal(net.classes_[proba.argmax(1)], net.predict(Xs[:10]))


def test_zero_shot_from_class_attributes(split):
    """Classes given by attribute vectors alone (seven-segment renderings of the
    digits): the attribute prototypes g(a) classify the training classes' samples
    without any support sample. On the unseen digits 5-9 the attribute embedding,
    learned from five attribute vectors, does not generalise (measured: chance level);
    asserted there: the predictions are those classes."""
    Xs, ys, Xn, yn = split
    net = _quiet(lambda: PrototypicalNetwork(
        n_components=16, hidden_layer_sizes=(64,), max_iter=5, learning_rate_init=3e-3,
        random_state=0).fit(Xs, ys, class_attributes=(label_glyphs()[:5], np.arange(5))))
    seen = (label_glyphs()[:5], np.arange(5))
    acc = np.mean(net.predict(Xs, class_attributes=seen) == ys)
    assert acc >= 0.9, acc
    unseen = {d: label_glyphs()[d] for d in range(5, 10)}  # the dict form
    assert set(net.predict(Xn, class_attributes=unseen)) <= set(range(5, 10))
    assert net.n_attributes_ == 15
    assert {"prototype_loss", "attribute_loss"} <= set(net.history_[-1])
    with pytest.raises(ValueError, match="has 14 attributes per class.*15"):
        net.predict(Xn, class_attributes=(label_glyphs()[5:, :14], np.arange(5, 10)))


def test_bad_input(net, split):
    Xs, ys, Xn, yn = split
    support = (Xn[yn != 9][:20], yn[yn != 9][:20])  # a 4-class support set
    with pytest.raises(ValueError,
                       match="support set has no sample of the classes \\[9\\]"):
        net.score(Xn, yn, support=support)
    with pytest.raises(ValueError, match="n_way=6 is larger than the 5 classes"):
        PrototypicalNetwork(n_way=6, max_iter=1).fit(Xs, ys)
    with pytest.raises(ValueError, match="support set has 20 samples but 19 labels"):
        net.predict(Xn, support=(Xn[:20], yn[:19]))
    with pytest.raises(ValueError, match="either support or class_attributes"):
        net.predict(Xn, support=support, class_attributes=(label_glyphs(), np.arange(10)))
    with pytest.raises(ValueError, match="no attribute vector for the classes \\[4\\]"):
        PrototypicalNetwork(max_iter=1).fit(Xs, ys, class_attributes=(label_glyphs()[:4],
                                                                       np.arange(4)))
    plain = _quiet(lambda: PrototypicalNetwork(n_components=4, hidden_layer_sizes=(8,),
                                               max_iter=1, random_state=0).fit(Xs, ys))
    with pytest.raises(ValueError, match="fit with class_attributes"):
        plain.predict(Xn, class_attributes=(label_glyphs(), np.arange(10)))
    assert not hasattr(plain, "partial_fit")


def test_seed_pickle_and_string_labels(split):
    Xs, ys, Xn, yn = split
    names = np.array(["zero", "one", "two", "three", "four"])[ys]
    params = dict(n_components=8, hidden_layer_sizes=(16,), max_iter=2, random_state=1)
    a = _quiet(lambda: PrototypicalNetwork(**params).fit(Xs, names))
    b = _quiet(lambda: PrototypicalNetwork(**params).fit(Xs, names))
    support = (Xn[:30], np.char.add("d", yn[:30].astype(str)))
    assert np.array_equal(a.predict_proba(Xn, support=support),
                          b.predict_proba(Xn, support=support))
    c = pickle.loads(pickle.dumps(a))
    assert np.array_equal(c.predict(Xn, support=support), a.predict(Xn, support=support))
    assert set(a.predict(Xs)) <= set(names)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda(split):
    Xs, ys, Xn, yn = split
    net = _quiet(lambda: PrototypicalNetwork(
        n_components=16, max_iter=2, device="cuda", random_state=0).fit(
            Xs.reshape(-1, 1, 8, 8), ys,
            class_attributes=(label_glyphs()[:5], np.arange(5))))
    assert next(net.module_.parameters()).is_cuda
    support = (Xn[:50].reshape(-1, 1, 8, 8), yn[:50])
    pred = net.predict(Xn.reshape(-1, 1, 8, 8), support=support)
    assert set(pred) <= set(yn[:50])
    zero = net.predict(Xn.reshape(-1, 1, 8, 8),
                       class_attributes=(label_glyphs()[5:], np.arange(5, 10)))
    assert zero.shape == (len(Xn),)


def test_demo_section_reports_map_and_few_shot_table(tmp_path):
    import matplotlib

    from skml._demo import contrastive as demo
    from skml._demo._report import Report

    matplotlib.use("Agg")
    report = Report(tmp_path)
    demo.section(report, quick=True)
    text = report.write("contrastive").read_text()
    rows = {line.split("|")[1].strip(): [c.strip() for c in line.strip("|").split("|")]
            for line in text.splitlines() if line.startswith("| ")}
    # quick: 2 SimCLR epochs; the probe stays far above chance (0.1)
    assert float(rows["SimCLR representation (64)"][1]) >= 0.8
    for shot in (1, 5):
        network, raw = map(float, rows[f"5-way {shot}-shot"][1:3])
        assert network >= 0.5 and raw >= 0.6  # chance: 0.2
    png = tmp_path / "contrastive_simclr_map.png"
    assert png.stat().st_size > 10_000 and "(contrastive_simclr_map.png)" in text
