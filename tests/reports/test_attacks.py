"""The sandwich test of every attack in :mod:`recgan.reports.attacks`: against a copy of the training users
the attack is strong (TPR at 1 % FPR well above 1 %), against fresh real users (never trained on) it is at
chance. Tiny simulated data, copy shadows / the independent sampler: fast."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
import torch

from recgan.reports import attacks as A
from recgan.reports import privacy as P
from recgan.reports.synth_report import split_holdout
from recgan.synth import IndependentSampler
from recgan.synth.base import Synthesizer
from recgan.synth.canaries import plant_canaries


@pytest.fixture(scope="module")
def parts(shop_report):
    data = shop_report
    perm = np.random.default_rng(1).permutation(data.n_users)
    n_h = data.n_users // 3
    train, holdout = data.select_users(np.sort(perm[n_h:])), data.select_users(np.sort(perm[:n_h]))
    train, canaries = plant_canaries(train, n=8, size=6, seed=0, decoys=8)
    yard, fresh = split_holdout(holdout, seed=0)
    members = train.select_users(np.sort(np.random.default_rng(2).choice(train.n_users - 8, yard.n_users,
                                                                         replace=False)))
    return {"train": train, "yard": yard, "fresh": fresh, "members": members,
            "canaries": canaries.matrix(train.n_items), "decoys": canaries.decoy_matrix(train.n_items)}


def test_roc_figures_match_the_scalar_helpers():
    rng = np.random.default_rng(0)
    pos, neg = rng.normal(1, 1, 300), rng.normal(0, 1, 400)
    f = A.roc_figures(pos, neg, n_boot=100)
    assert f["auc"] == pytest.approx(P.auc_score(pos, neg) if hasattr(P, "auc_score") else f["auc"])
    assert f["tpr_at_1pct_fpr"] == pytest.approx(P.tpr_at_fpr(pos, neg, 0.01))
    assert f["auc_ci_low"] < f["auc"] < f["auc_ci_high"]
    assert f["tpr_at_0.1pct_fpr_ci_low"] <= f["tpr_at_0.1pct_fpr"] <= f["tpr_at_0.1pct_fpr_ci_high"]
    # vectorised bootstrap AUC = the scalar AUC row by row (ties included)
    bp, bn = np.round(rng.normal(1, 1, (5, 30)), 1), np.round(rng.normal(0, 1, (5, 20)), 1)
    np.testing.assert_allclose(A._auc_rows(bp, bn), [P.auc_score(bp[i], bn[i]) for i in range(5)])
    fpr, tpr = A.roc_curve(pos, neg)
    assert fpr[0] == tpr[0] == 0 and fpr[-1] == tpr[-1] == 1 and np.all(np.diff(fpr) >= 0)


def test_balanced_inclusion_and_lira_math():
    inc = A.balanced_inclusion(8, 50, np.random.default_rng(0))
    assert (inc.sum(0) == 4).all()
    stats = np.where(inc, 1.0, 0.0) + np.random.default_rng(1).normal(0, 0.1, inc.shape)
    s = A.lira_scores(np.array([1.0] * 25 + [0.0] * 25), stats[:, :50], inc)
    assert (s[:25] > 0).all() and (s[25:] < 0).all()
    off = A.lira_scores(np.array([1.0] * 25 + [0.0] * 25), stats[:, :50], inc, mode="offline")
    assert off[:25].min() > off[25:].max()
    with pytest.raises(Exception, match="even"):
        A.shadow_membership(None, None, None, None, A.copy_shadow, n_shadows=3)  # type: ignore[arg-type]


def test_lira_synthetic_sandwich(parts):
    """Copy of train: strong; fresh real users released: chance (the copy shadow in both cases)."""
    kw = dict(n_shadows=4, n_boot=50, seed=0)
    strong = A.shadow_membership(parts["members"], parts["yard"], parts["fresh"], parts["train"], A.copy_shadow, **kw)
    chance = A.shadow_membership(parts["members"], parts["yard"], parts["fresh"], parts["fresh"], A.copy_shadow, **kw)
    assert strong["synthetic"]["tpr_at_1pct_fpr"] > 0.5 and strong["synthetic"]["auc"] > 0.9
    assert strong["synthetic"]["epsilon_lb"] > 1
    assert chance["synthetic"]["tpr_at_1pct_fpr"] < 0.15 and abs(chance["synthetic"]["auc"] - 0.5) < 0.15
    assert chance["synthetic"]["epsilon_lb"] < 1


class CopyGenerator(Synthesizer):
    """A generator that memorises: each noise draw picks one training user and puts its mass on that user's
    items (the white-box analogue of releasing a copy of train). Not registered."""

    name = "copy-generator-test"

    def _fit(self, mats, counts):
        self._fit_activity(counts)
        x = np.stack([m.toarray() for m in mats], 1).astype(np.float32)  # tiny data: dense is fine
        self.rows_ = torch.from_numpy(np.log(x + 1e-6))

    def _logits(self, sizes, gen):
        pick = torch.randint(0, self.rows_.shape[0], (len(sizes),), generator=gen)
        return self.rows_[pick]


def _copy_generator_shadow(data, n_release, seed):
    g = CopyGenerator().fit(data)
    return A.ShadowRelease(g.sample_interactions(n_release, seed=seed), g)


def test_lira_generator_sandwich(parts):
    """White box: a generator that memorises its training users gives them away (strong); the same
    generator fit on fresh real users gives away nothing about the members (chance)."""
    kw = dict(n_shadows=4, n_boot=50, seed=0, n_z=512)
    res = {}
    for name, data in (("train", parts["train"]), ("fresh", parts["fresh"])):
        gen = CopyGenerator().fit(data)
        rel = gen.sample_interactions(parts["fresh"].n_users, seed=0)
        res[name] = A.shadow_membership(parts["members"], parts["yard"], parts["fresh"], rel,
                                        _copy_generator_shadow, generator=gen, **kw)["generator"]
    assert res["train"]["tpr_at_1pct_fpr"] > 0.3 and res["train"]["auc"] > 0.8, res["train"]
    assert abs(res["fresh"]["auc"] - 0.5) < 0.15 and res["fresh"]["tpr_at_1pct_fpr"] < 0.1, res["fresh"]


def test_lira_with_a_gan_shadow_runs(parts):
    """The GAN's fast shadow (spectral start, 0 adversarial epochs) in both settings, end to end."""
    shadow = A.synthesizer_shadow("gan", {"z_dim": 8, "hidden": 32, "emb": 8, "d_emb": 8, "d_hidden": 32})
    gen = shadow(parts["train"], 40, 0).generator
    rel = gen.sample_interactions(parts["train"].n_users, seed=1)
    out = A.shadow_membership(parts["members"], parts["yard"], parts["fresh"], rel, shadow, generator=gen,
                              n_shadows=2, n_boot=20)
    for s in ("synthetic", "generator"):
        assert 0 <= out[s]["auc"] <= 1 and np.isfinite(out[s]["tpr_at_1pct_fpr"])


def test_generator_loglik_prefers_its_own_items(parts):
    gen = IndependentSampler(seed=0).fit(parts["train"])
    beh = parts["train"].behaviours
    X = A._profiles(parts["members"], beh)
    ll = A.generator_loglik(gen, X, n_z=8)
    assert ll.shape == (X.shape[0],) and np.isfinite(ll).all()
    rev = sp.csr_matrix(np.ones((1, X.shape[1]), np.float32))  # every pair: includes never-seen ones
    assert A.generator_loglik(gen, rev, n_z=8)[0] < ll.min()


def test_attribute_sandwich(parts):
    beh = parts["train"].behaviours
    M, Y = A._profiles(parts["members"], beh), A._profiles(parts["yard"], beh)
    strong = A.attribute_inference(M, Y, A._profiles(parts["train"], beh), n_boot=50)
    chance = A.attribute_inference(M, Y, A._profiles(parts["fresh"], beh), n_boot=50)
    assert strong["members"] > 0.7 and strong["advantage"] > 0.3 and strong["advantage_ci_low"] > 0.2
    assert abs(chance["advantage"]) < 0.1 and chance["advantage_ci_low"] < 0.02  # 50-odd users a side: noisy


def test_canary_audit_sandwich(parts):
    can, dec = parts["canaries"], parts["decoys"]
    strong = A.canary_audit(parts["train"].X, can, dec, claimed_epsilon=None)
    chance = A.canary_audit(parts["fresh"].X, can, dec, claimed_epsilon=3.0)
    assert strong["canaries_reproduced"] == 8 and strong["decoys_reproduced"] == 0
    assert strong["epsilon_lb"] > 0 and strong["epsilon_point"] > 1  # 8 + 8 trials cannot show much more
    assert chance["canaries_reproduced"] == 0 and chance["decoys_reproduced"] == 0 and chance["epsilon_lb"] == 0
    assert chance["claimed_epsilon"] == 3.0


def test_dp_verdict_compares_at_equal_epsilon():
    from recgan.reports.synth_report import dp_verdict

    summary = {"gan (DP eps=3)": {"utility_ease_ratio": 0.45}, "randomised-response (DP eps=3)": {"utility_ease_ratio": 0.07},
               "randomised-response (DP eps=10)": {"utility_ease_ratio": 0.5}, "vae": {"utility_ease_ratio": 0.8}}
    privacy = {"gan (DP eps=3)": {"dp": True, "epsilon": 2.99, "target_epsilon": 3.0},
               "randomised-response (DP eps=3)": {"dp": True, "epsilon": 3.0, "target_epsilon": 3.0},
               "randomised-response (DP eps=10)": {"dp": True, "epsilon": 10.0, "target_epsilon": 10.0}}
    v = dp_verdict(summary, privacy)
    assert v.count("earns its place") == 1 and "DP eps=10" not in v and "vae" not in v
    assert dp_verdict({"vae": {"utility_ease_ratio": 0.8}}, {}) is None
