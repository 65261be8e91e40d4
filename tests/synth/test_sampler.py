"""Activity model, funnel and the Gumbel-top-k sampler."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import torch

from recgan.synth.sampler import ActivityModel, Funnel, draw_masks, level_of, sample_profiles, size_edges


def test_size_edges_cover_catalogue():
    for n in (1, 5, 30, 1000, 100_000):
        e = size_edges(n)
        assert e[0] == 0 and e[-1] == n + 1 and np.all(np.diff(e) > 0)
    assert list(size_edges(1000)[:11]) == list(range(11))


def test_activity_model_reproduces_distribution():
    rng = np.random.default_rng(0)
    base = rng.integers(1, 60, 3000)
    child = np.minimum(base, rng.poisson(base / 4))
    counts = np.stack([base, child], 1)
    am = ActivityModel.fit(counts, 200, base=0)
    s = am.sample(3000, np.random.default_rng(1))
    assert s.shape == (3000, 2) and (s.sum(1) > 0).all()
    for c in range(2):
        assert abs(np.median(s[:, c]) - np.median(counts[:, c])) <= 2
    # the child's size follows the base size (joint, not independent)
    assert np.corrcoef(s[:, 0], s[:, 1])[0, 1] > 0.5
    back = ActivityModel.from_arrays(am.to_arrays())
    assert (back.sample(50, np.random.default_rng(3)) == am.sample(50, np.random.default_rng(3))).all()


def test_privatised_histogram_still_samples():
    counts = np.random.default_rng(0).integers(1, 20, (200, 1))
    am = ActivityModel.fit(counts, 50, 0)
    am.privatise(30.0, np.random.default_rng(0))
    s = am.sample(100, np.random.default_rng(0))
    assert (s >= 1).all() and (s <= 50).all()
    big = ActivityModel.fit(np.random.default_rng(1).integers(1, 20, (5000, 1)), 2000, 0)
    big.privatise(20.0, np.random.default_rng(0))
    assert big.sample(2000, np.random.default_rng(0)).max() < 40  # noise does not fill the empty bins


def test_levels():
    assert list(level_of(np.array([0, 1, 2, 3, 5, 6, 10_000]))) == [0, 1, 1, 2, 2, 3, 10]


def test_draw_masks_sizes_and_funnel():
    gen = torch.Generator().manual_seed(0)
    logits = torch.randn(64, 2, 50)
    sizes = np.stack([np.arange(64) % 20, np.arange(64) % 7 + 3], 1)
    masks = draw_masks(logits, sizes, Funnel([None, 0]), gen)
    assert (masks[0].sum(1).numpy() == sizes[:, 0]).all()
    assert (masks[1].sum(1).numpy() == np.minimum(sizes[:, 1], sizes[:, 0])).all()
    assert not (masks[1] & ~masks[0]).any()


def test_gumbel_topk_follows_softmax():
    gen = torch.Generator().manual_seed(1)
    p = torch.tensor([0.6, 0.3, 0.1])
    logits = torch.log(p)[None, None].expand(20000, 1, 3)
    m = sample_profiles(logits, np.ones((20000, 1), int), Funnel([None]), gen)[0]
    freq = np.asarray(m.sum(0)).ravel() / 20000
    np.testing.assert_allclose(freq, p.numpy(), atol=0.02)


def test_funnel_detection():
    rng = np.random.default_rng(0)
    view = sp.csr_matrix(rng.random((100, 30)) < 0.3, dtype=np.float32)
    buy = view.multiply(sp.csr_matrix(rng.random((100, 30)) < 0.3)).tocsr()
    other = sp.csr_matrix(rng.random((100, 30)) < 0.05, dtype=np.float32)
    f = Funnel.resolve("auto", ["buy", "other", "view"], [buy, other, view], private=False)
    assert f.parent == [2, None, None]
    assert f.order.index(2) < f.order.index(0)
    fp = Funnel.resolve("auto", ["buy", "cart", "view"], [buy, buy, view], private=True)
    assert fp.parent == [1, 2, None]
    assert Funnel.resolve("none", ["buy", "view"], [buy, view], private=False).parent == [None, None]
    assert Funnel.resolve("view>buy", ["buy", "view"], [buy, view], private=False).parent == [1, None]
