"""skml.neural.contrastive / few_shot against plain PyTorch, and the full-size accuracy
runs of issue 22 against their raw-pixel baselines.

* ``NT-Xent fwd+bwd``: ``skml.neural._modules.contrastive.nt_xent_loss`` against a plain
  torch reference written the common way (the ``2N x 2N`` similarities with the
  diagonal dropped by a boolean index, positives gathered, ``logsumexp``), forward and
  backward, on one thread. Quality: the loss value of each (they agree to rounding).
* ``SimCLR fit vs torch loop``: ``SimCLR`` against a hand-written loop over the same
  module (``SimCLRNet``), the same augmentation, Adam, batch size and epochs. The ratio
  is the wrapper's overhead (target <= 1.1). Quality: the linear probe's accuracy.
* Accuracy runs (one repeat; the "peer" is the raw-pixel baseline, so the time ratio
  means nothing there, the qualities are the point):
  SimCLR representation + logistic regression on 10% of the labels vs the same probe
  on raw pixels; TripletEmbedding + 1-NN vs 1-NN on raw pixels; DualEncoder zero-shot
  on digits paired with noisy seven-segment renderings of their labels (peer: a
  logistic regression trained on the labels, the supervised ceiling);
  PrototypicalNetwork 5-way 1-shot and 5-shot on digits 5-9 held out of training vs
  nearest class mean on raw pixels.
"""
import warnings

import numpy as np

from benchmarks._harness import Case, one_torch_thread

NAME = "contrastive"
PEER = "torch / raw pixels"


def _quiet(fit):
    from sklearn.exceptions import ConvergenceWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return fit()


# ---------------------------------------------------------------------- NT-Xent


def _reference_nt_xent(z1, z2, tau):
    import torch
    import torch.nn.functional as F

    z = F.normalize(torch.cat([z1, z2]), dim=1)
    n2 = len(z)
    n = n2 // 2
    sim = z @ z.T / tau
    off = ~torch.eye(n2, dtype=torch.bool)
    sim = sim[off].reshape(n2, n2 - 1)  # drop k == i
    pos_col = torch.cat([torch.arange(n, n2) - 1, torch.arange(0, n)])  # index after drop
    pos = sim[torch.arange(n2), pos_col]
    return (torch.logsumexp(sim, 1) - pos).mean()


def _loss_case(n, d):
    import torch

    def data():
        g = torch.Generator().manual_seed(0)
        return torch.randn(n, d, generator=g), torch.randn(n, d, generator=g)

    def side(loss_fn):
        @one_torch_thread
        def run(zz):
            z1 = zz[0].clone().requires_grad_(True)
            z2 = zz[1].clone().requires_grad_(True)
            out = None
            for _ in range(20):
                out = loss_fn(z1, z2, 0.5)
                out.backward()
            return float(out.detach())
        return run

    from skml.neural._modules.contrastive import nt_xent_loss

    return Case(f"NT-Xent fwd+bwd x20, N={n}, d={d}", data, side(nt_xent_loss),
                side(_reference_nt_xent), lambda r, _: r, "loss")


# ---------------------------------------------------------------------- SimCLR fit


def _digits():
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    X, y = load_digits(return_X_y=True)
    Xtr, Xte, ytr, yte = train_test_split(X / 16.0, y, test_size=0.3, random_state=0,
                                          stratify=y)
    lab, _ = train_test_split(np.arange(len(Xtr)), train_size=0.1, random_state=0,
                              stratify=ytr)
    return Xtr, Xte, ytr, yte, lab


def _probe(features, data):
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    Ftr, Fte = features
    _, _, ytr, yte, lab = data
    clf = make_pipeline(StandardScaler(), LogisticRegression(C=0.1, max_iter=2000))
    return clf.fit(Ftr[lab], ytr[lab]).score(Fte, yte)


_SIMCLR = dict(n_components=64, hidden_layer_sizes=(256,), image_shape=(8, 8),
               encoder="mlp", batch_size=256, learning_rate_init=0.003)


def _skml_simclr(epochs, tol=True):
    from skml.neural import SimCLR

    @one_torch_thread
    def fit(data):
        extra = {} if tol else dict(alpha=0.0, tol=0.0, n_iter_no_change=np.inf)
        est = _quiet(lambda: SimCLR(max_iter=epochs, random_state=0,
                                    **{**_SIMCLR, **extra}).fit(data[0]))
        return est.transform(data[0]), est.transform(data[1])
    return fit


def _torch_simclr(epochs):
    import torch

    from skml.neural import ImageAugmentation
    from skml.neural._modules.contrastive import SimCLRNet, build_encoder, nt_xent_loss

    @one_torch_thread
    def fit(data):
        torch.manual_seed(0)
        enc = build_encoder("mlp", 64, n_features=64, hidden=(256,))
        model = SimCLRNet(enc, 64, 32)
        opt = torch.optim.Adam(model.parameters(), lr=0.003)
        X = torch.as_tensor(data[0], dtype=torch.float32).reshape(-1, 1, 8, 8)
        gen = torch.Generator().manual_seed(0)
        aug = ImageAugmentation()
        n, bs = len(X), 256
        n_batches = -(-n // bs)
        model.train()
        for _ in range(epochs):
            perm = torch.randperm(n, generator=gen)
            for b in range(n_batches):
                x = X[perm[b * n // n_batches:(b + 1) * n // n_batches]]
                views = torch.cat([aug(x, gen), aug(x, gen)])
                z = model.project(views)
                loss = nt_xent_loss(z[:len(x)], z[len(x):], 0.5)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
        model.eval()
        with torch.no_grad():
            return (model(X).numpy(),
                    model(torch.as_tensor(data[1], dtype=torch.float32)
                          .reshape(-1, 1, 8, 8)).numpy())
    return fit


# ---------------------------------------------------------------------- accuracy runs


def _raw_probe(data):
    return data[0], data[1]


def _glyphs():
    from tests.neural.test_contrastive import label_glyphs

    return label_glyphs()


def _triplet_case(epochs):
    from sklearn.model_selection import train_test_split
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.pipeline import make_pipeline

    from skml.neural import TripletEmbedding

    def data():
        from sklearn.datasets import load_digits

        X, y = load_digits(return_X_y=True)
        return train_test_split(X / 16.0, y, train_size=0.2, random_state=0, stratify=y)

    @one_torch_thread
    def skml(d):
        Xtr, _, ytr, _ = d
        return _quiet(lambda: make_pipeline(
            TripletEmbedding(n_components=32, channels=(16, 32), mining="semi_hard",
                             augmentation="auto", image_shape=(8, 8), max_iter=epochs,
                             learning_rate_init=0.003, random_state=0),
            KNeighborsClassifier(1)).fit(Xtr, ytr))

    def peer(d):
        return KNeighborsClassifier(1).fit(d[0], d[2])

    return Case(f"TripletEmbedding resnet {epochs} ep + 1-NN vs raw 1-NN (20% train)", data,
                skml, peer, lambda r, d: r.score(d[1], d[3]), "test accuracy", repeats=1)


def _dual_case(epochs):
    from sklearn.linear_model import LogisticRegression

    from skml.neural import DualEncoder

    @one_torch_thread
    def skml(d):
        Xtr, _, ytr, _, _ = d
        g = _glyphs()
        B = g[ytr] + 0.2 * np.random.RandomState(0).randn(len(ytr), g.shape[1])
        return _quiet(lambda: DualEncoder(n_components=32, hidden_layer_sizes=(128,),
                                          batch_size=128, max_iter=epochs,
                                          learning_rate_init=0.003,
                                          random_state=0).fit(Xtr, B))

    def peer(d):
        return LogisticRegression(max_iter=2000).fit(d[0], d[2])

    def quality(r, d):
        pred = r.predict(d[1], _glyphs()) if hasattr(r, "transform_b") else r.predict(d[1])
        return float(np.mean(pred == d[3]))

    return Case(f"DualEncoder {epochs} ep zero-shot vs supervised logistic", _digits,
                skml, peer, quality, "test accuracy", repeats=1)


def _proto_cases(epochs):
    from skml.neural import PrototypicalNetwork

    def data():
        from sklearn.datasets import load_digits

        X, y = load_digits(return_X_y=True)
        X = X / 16.0
        return X[y < 5], y[y < 5], X[y >= 5], y[y >= 5]

    @one_torch_thread
    def skml(d):
        return _quiet(lambda: PrototypicalNetwork(
            n_components=256, hidden_layer_sizes=(), encoder="mlp", image_shape=(8, 8),
            augmentation="auto", max_iter=epochs, learning_rate_init=3e-4,
            random_state=0).fit(d[0], d[1]))

    def peer(d):
        return "raw"

    def episodes(shot):
        def quality(r, d):
            _, _, Xn, yn = d
            rng = np.random.RandomState(0)
            accs = []
            for _ in range(100):
                s = np.concatenate([rng.choice(np.flatnonzero(yn == c), shot,
                                               replace=False) for c in range(5, 10)])
                q = np.setdiff1d(np.arange(len(yn)), s)
                if r == "raw":
                    protos = np.stack([Xn[s][yn[s] == c].mean(0) for c in range(5, 10)])
                    dist = ((Xn[q][:, None] - protos[None]) ** 2).sum(-1)
                    accs.append(np.mean(dist.argmin(1) + 5 == yn[q]))
                else:
                    accs.append(r.score(Xn[q], yn[q], support=(Xn[s], yn[s])))
            return float(np.mean(accs))
        return quality

    for shot in (1, 5):
        yield Case(f"PrototypicalNetwork linear {epochs} ep 5-way {shot}-shot, digits 5-9 unseen "
                   "vs raw class means", data, skml, peer, episodes(shot),
                   "episode accuracy", repeats=1)


def _proto_cases_mlp(epochs):
    from skml.neural import PrototypicalNetwork

    for case in _proto_cases(epochs):
        @one_torch_thread
        def skml(d):
            return _quiet(lambda: PrototypicalNetwork(
                n_components=256, hidden_layer_sizes=(512,), encoder="mlp",
                image_shape=(8, 8), augmentation="auto", max_iter=epochs,
                learning_rate_init=3e-4, random_state=0).fit(d[0], d[1]))
        case.skml = skml
        case.label = case.label.replace("linear", "mlp (512,)")
        yield case


def cases(quick):
    yield _loss_case(64 if quick else 256, 32)
    if not quick:
        yield _loss_case(1024, 128)
    epochs = 1 if quick else 5
    yield Case(f"SimCLR digits mlp bs=256 {epochs} epochs: fit vs torch loop", _digits,
               _skml_simclr(epochs, tol=False), _torch_simclr(epochs), _probe,
               "probe accuracy (10% labels)", repeats=1 if quick else 3)
    full = 2 if quick else 30
    yield Case(f"SimCLR {full} ep probe (10% labels) vs raw-pixel probe", _digits,
               _skml_simclr(full), _raw_probe, _probe, "probe accuracy", repeats=1)
    yield _triplet_case(2 if quick else 30)
    yield _dual_case(2 if quick else 30)
    yield from _proto_cases(2)
    if not quick:  # deeper and longer: specialises to the five training classes
        yield from _proto_cases_mlp(8)
