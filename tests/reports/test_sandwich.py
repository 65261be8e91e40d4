"""The sandwich test of every privacy and fidelity metric.

Privacy: a copy of the training users scores worst, fresh real users (a holdout) score best, a trained
generator lands in between. Fidelity (measured against the training users, so copying trivially maximises
it): the copy is the one extreme, users drawn uniformly at random over the catalogue the other, and both the
fresh real users and the trained generator land between them. ("Worst" for fidelity is a collapsed
generator: every user holds the same few items.)
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from recgan.data.ids import IdMap
from recgan.data.interactions import Interactions
from recgan.reports import fidelity as F
from recgan.reports import privacy as P
from recgan.reports.synth_report import split_holdout
from recgan.synth import BehaviourSynthesizer
from recgan.synth.canaries import plant_canaries

QUICK_GAN = {"epochs": 4, "train_batch": 32, "z_dim": 16, "hidden": 64, "emb": 16, "d_emb": 16, "d_hidden": 64}


@pytest.fixture(scope="module")
def sets(shop_report):
    data = shop_report
    perm = np.random.default_rng(0).permutation(data.n_users)
    n_h = data.n_users // 3
    train, holdout = data.select_users(np.sort(perm[n_h:])), data.select_users(np.sort(perm[:n_h]))
    train, canaries = plant_canaries(train, n=8, size=6, seed=0, decoys=8)
    yard, fresh = split_holdout(holdout, seed=0)
    n = fresh.n_users
    gan = BehaviourSynthesizer(**QUICK_GAN).fit(train).sample_interactions(n, seed=0)
    rng = np.random.default_rng(1)
    same = rng.choice(train.n_items, 3, replace=False)  # collapse: everyone holds the same 3 items
    rows, cols = np.repeat(np.arange(n), 3), np.tile(same, n)
    noise = Interactions({train.target: sp.csr_matrix((np.ones(len(rows), np.float32), (rows, cols)),
                                                      shape=(n, train.n_items))},
                         train.target, IdMap(np.arange(n), "user"), train.items)
    copy = train.select_users(np.sort(rng.choice(train.n_users, n, replace=False)))
    return {"train": train, "yard": yard, "fresh": fresh, "gan": gan, "noise": noise, "copy": copy,
            "copy_all": train, "canaries": canaries.matrix(train.n_items),
            "decoys": canaries.decoy_matrix(train.n_items)}


def _profiles(d: Interactions, behaviours) -> sp.csr_matrix:
    return P.profiles([d.binary(b) if b in d.matrices else sp.csr_matrix((d.n_users, d.n_items)) for b in behaviours])


FIDELITY = {
    "popularity_similarity": F.popularity_similarity,
    "popularity_spearman": F.popularity_spearman,
    "longtail_coverage": F.longtail_coverage,
    "activity_ks_similarity": F.activity_ks_similarity,
    "cooccurrence_correlation": F.cooccurrence_correlation,
}


@pytest.mark.parametrize("name", sorted(FIDELITY))
def test_fidelity_sandwich(sets, name):
    f = FIDELITY[name]
    real = sets["train"].X
    copy, fresh, gan, noise = (f(real, sets[k].X) for k in ("copy_all", "fresh", "gan", "noise"))
    tol = 0.02
    assert copy >= gan - tol and copy >= fresh - tol, (copy, fresh, gan)
    assert gan >= noise - tol and fresh >= noise - tol, (fresh, gan, noise)
    assert copy > noise


def test_detection_sandwich(sets):
    bases = F.svd_bases([sets["train"].X], k=8)
    auc = {k: F.detection_auc([sets["train"].X], [sets[k].X], bases, seed=0) for k in ("copy", "fresh", "gan", "noise")}
    assert auc["noise"] > 0.9
    assert auc["copy"] < 0.7 and auc["fresh"] < 0.7, auc
    assert auc["gan"] < auc["noise"], auc


def test_privacy_sandwich(sets):
    beh = sets["train"].behaviours
    T = _profiles(sets["train"], beh)
    Y = _profiles(sets["yard"], beh)
    members = T[np.random.default_rng(0).choice(T.shape[0], Y.shape[0], replace=False)]
    y_dcr = 1 - P.nearest_jaccard(Y, T)[:, 0]
    res = {}
    for k in ("copy_all", "fresh", "gan"):
        S = _profiles(sets[k], beh)
        dcr = 1 - P.nearest_jaccard(S, T)[:, 0]
        att = P.mia(members, Y, S, seed=0)
        res[k] = {
            "copy_rate": P.exact_copy_rate(S, T), "dcr_p": P.dcr_p(dcr, y_dcr),
            "mia_distance": att["distance"]["auc"], "mia_density": att["density"]["auc"],
            "tpr": att["distance"]["tpr_at_1pct_fpr"],
            "canaries": P.canary_reproduction(sets[k].X, sets["canaries"])["reproduced"],
        }
    c, f, g = res["copy_all"], res["fresh"], res["gan"]
    # worst: the copy
    assert c["copy_rate"] > 0.9 and c["dcr_p"] > 0.9 and c["mia_distance"] > 0.9 and c["mia_density"] > 0.7
    assert c["canaries"] == sets["canaries"].shape[0] and c["tpr"] > 0.5
    # best: fresh real users
    assert f["copy_rate"] == 0 and abs(f["dcr_p"] - 0.5) < 0.15 and abs(f["mia_distance"] - 0.5) < 0.15
    assert f["canaries"] == 0
    # the trained generator in between: clearly below the copy, within sampling noise of fresh users
    for key in ("copy_rate", "dcr_p", "mia_distance", "mia_density", "tpr", "canaries"):
        assert g[key] <= c[key], key
        assert g[key] <= max(f[key], 0.5 if key.startswith(("dcr", "mia")) else f[key]) + 0.1, (key, g, f)
    assert g["dcr_p"] < c["dcr_p"] - 0.3 and g["mia_distance"] < c["mia_distance"] - 0.2


def test_decoys_give_the_chance_level(sets):
    """The copy of train reproduces every planted canary and no decoy; profiles stuffed with the rare pool
    'reproduce' canaries and decoys alike (chance, not memory); the trained generator reproduces neither."""
    can, dec = sets["canaries"], sets["decoys"]
    assert dec.shape == can.shape  # (items shared with canaries only when the rare pool is too small)
    repro = {k: (P.canary_reproduction(sets[k].X, can)["reproduced"], P.canary_reproduction(sets[k].X, dec)["reproduced"])
             for k in ("copy_all", "gan")}
    assert repro["copy_all"] == (8, 0) and repro["gan"] == (0, 0)
    rare = sp.csr_matrix((can + dec).sum(0) > 0, dtype=np.float32)
    assert P.canary_reproduction(rare, can)["reproduced"] == 8 and P.canary_reproduction(rare, dec)["reproduced"] == 8


def test_nearest_jaccard_exact():
    A = sp.csr_matrix(np.array([[1, 1, 0, 0], [0, 0, 1, 1], [1, 0, 0, 0]], np.float32))
    B = sp.csr_matrix(np.array([[1, 1, 1, 0], [0, 0, 1, 1]], np.float32))
    s = P.nearest_jaccard(A, B, k=2, chunk=2)
    np.testing.assert_allclose(s, [[2 / 3, 0], [1, 1 / 4], [1 / 3, 0]])
    assert P.exact_copy_rate(A, B, min_items=2) == 0.5
    assert P.dcr_p(np.array([0.0, 0.0]), np.array([0.5, 0.5])) == 1.0
    assert F.auc_score(np.array([1.0, 2.0]), np.array([0.0])) == 1.0
