"""Attacks on a synthetic release: what an adversary holding the release learns about the real training users.

One attack per function, each with its threat model in :data:`THREAT_MODELS` (the report prints it), all
vectorised over targets (no per-user Python loop; anything users x items is chunked). Profiles are binary
CSR rows over (behaviour, item) pairs (:func:`recgan.reports.privacy.profiles`).

* :func:`shadow_membership`: likelihood-ratio membership inference with shadow releases (after Carlini et
  al., "Membership Inference Attacks From First Principles", 2022, LiRA). Two settings: the attacker sees the
  synthetic users only (statistic: similarity of the target to its nearest released profiles), or the
  generator too (statistic: the generator's own likelihood of the target's profile, :func:`generator_loglik`).
* :func:`attribute_inference`: the attacker knows ``k`` items of a real user and guesses the others from the
  release; the figure is the *advantage* of training users over fresh real users, so that what any good
  recommender would guess counts as no leak.
* :func:`canary_audit`: canaries (planted rare item combinations) against decoys (equally rare, never
  planted: the chance level), and the empirical lower bound on epsilon that their scores imply.

:func:`roc_figures` gives AUC and TPR at low FPR (0.1 %, 1 %) with bootstrap intervals for any attack score.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import numpy as np
import scipy.sparse as sp
import torch

from recgan.data.ids import IdMap
from recgan.data.interactions import Interactions
from recgan.data.splits import within_row_rank
from recgan.errors import RecganError
from recgan.reports import privacy as P
from recgan.reports.fidelity import auc_score

THREAT_MODELS = {
    "lira_synthetic": (
        "Membership inference, synthetic data released. The attacker holds the released synthetic users, a "
        "target's real profile and a reference population of real users from the same source (half of the "
        "holdout), and knows how the release was made (generator kind and hyper-parameters, release size). It "
        "trains K shadow releases on random halves of targets + reference, so each target is in half of "
        "them, fits a Gaussian to a per-target statistic (logit of the mean Jaccard similarity to the k "
        "nearest released profiles) with and without the target, and scores the real release by the "
        "likelihood ratio (Carlini et al. 2022, LiRA). Members: training users; non-members: held-out users."),
    "lira_generator": (
        "Membership inference, generator released too. Same attacker, who can also evaluate the released "
        "generator: the statistic is the generator's own likelihood of the target's profile (Monte-Carlo "
        "over its noise, per item of the profile), shadows as above."),
    "attribute": (
        "Attribute inference. The attacker knows k of a real user's (item, behaviour) pairs and guesses the "
        "rest from the release: synthetic users holding the known items vote for their other items (weight "
        "= share of the known items they hold, to a high power). Figure: share of the hidden items among the "
        "top guesses (R-precision) for training users minus the same for fresh held-out users; 0 = the "
        "release tells no more about its training users than about anyone."),
    "canaries": (
        "Canaries. Users made of rare, unique item combinations planted in training; decoys are equally "
        "rare combinations never planted. A canary is reproduced when one released user holds >= 80 % of "
        "its items; canaries above decoys is memory. Their scores (largest share held by one released user) "
        "bound epsilon from below (Clopper-Pearson, 95 %, Bonferroni over thresholds)."),
}
"""What each attacker knows and does, as printed in the report."""


# ------------------------------------------------------------------------------------------ scoring
def _dense_ranks(*arrays: np.ndarray) -> list[np.ndarray]:
    """Ranks of the values of all ``arrays`` in their union (equal values share a rank)."""
    allv = np.concatenate([np.ravel(a) for a in arrays])
    uniq = np.unique(allv)
    return [np.searchsorted(uniq, a) for a in arrays]


def _auc_rows(pos: np.ndarray, neg: np.ndarray) -> np.ndarray:
    """ROC AUC per row of ``pos`` (B, n_pos) against the same row of ``neg`` (B, n_neg), ties counted half:
    one flattened searchsorted (rows shifted apart), no per-row loop."""
    rp, rn = _dense_ranks(pos, neg)
    big = int(max(rp.max(initial=0), rn.max(initial=0))) + 2
    off = np.arange(pos.shape[0])[:, None] * big
    flat = np.sort((rn + off).ravel())
    q = (rp + off).ravel()
    below = np.searchsorted(flat, q, side="left").reshape(rp.shape) - np.arange(pos.shape[0])[:, None] * neg.shape[1]
    upto = np.searchsorted(flat, q, side="right").reshape(rp.shape) - np.arange(pos.shape[0])[:, None] * neg.shape[1]
    return (below + 0.5 * (upto - below)).sum(1) / (pos.shape[1] * neg.shape[1])


def _tpr_rows(pos: np.ndarray, neg: np.ndarray, fpr: float) -> np.ndarray:
    """TPR per row at the threshold flagging at most ``fpr`` of that row's negatives
    (:func:`recgan.reports.privacy.tpr_at_fpr` per row)."""
    thr = np.quantile(neg, 1 - fpr, axis=1, method="higher")
    return (pos > thr[:, None]).mean(1)


def roc_figures(pos: np.ndarray, neg: np.ndarray, *, fprs: tuple[float, ...] = (0.001, 0.01), n_boot: int = 200,
                seed: int = 0, level: float = 0.95) -> dict[str, float]:
    """AUC and TPR at each FPR in ``fprs`` of scores ``pos`` (members, higher = "member") vs ``neg``, each with
    a percentile bootstrap interval (members and non-members resampled, ``n_boot`` times, vectorised).
    Keys: ``auc``, ``auc_ci_low``, ``auc_ci_high``, ``tpr_at_0.1pct_fpr`` (..._ci_low/high), ``tpr_at_1pct_fpr``
    ...; ``fpr_resolution`` = 1 / non-members (an FPR below it cannot be told from 0)."""
    pos, neg = np.asarray(pos, np.float64), np.asarray(neg, np.float64)
    if not len(pos) or not len(neg):
        raise RecganError("an attack needs at least one member and one non-member target")
    rng = np.random.default_rng([seed, 31])
    bp = pos[rng.integers(0, len(pos), (n_boot, len(pos)))]
    bn = neg[rng.integers(0, len(neg), (n_boot, len(neg)))]
    a = (1 - level) / 2
    out: dict[str, float] = {"auc": auc_score(pos, neg)}
    boot = _auc_rows(bp, bn)
    out["auc_ci_low"], out["auc_ci_high"] = float(np.quantile(boot, a)), float(np.quantile(boot, 1 - a))
    for f in fprs:
        key = f"tpr_at_{f * 100:g}pct_fpr"
        out[key] = float(_tpr_rows(pos[None], neg[None], f)[0])
        b = _tpr_rows(bp, bn, f)
        out[key + "_ci_low"], out[key + "_ci_high"] = float(np.quantile(b, a)), float(np.quantile(b, 1 - a))
    out["members"], out["non_members"] = len(pos), len(neg)
    out["fpr_resolution"] = 1.0 / len(neg)
    return out


def roc_curve(pos: np.ndarray, neg: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(fpr, tpr) of every threshold, from (0, 0) to (1, 1) (for plotting)."""
    pos, neg = np.sort(np.asarray(pos, np.float64)), np.sort(np.asarray(neg, np.float64))
    thr = np.unique(np.concatenate([pos, neg]))[::-1]
    tpr = 1 - np.searchsorted(pos, thr, side="left") / max(len(pos), 1)
    fpr = 1 - np.searchsorted(neg, thr, side="left") / max(len(neg), 1)
    return np.r_[0.0, fpr, 1.0], np.r_[0.0, tpr, 1.0]


# ------------------------------------------------------------------------------------------ statistics
def nearest_statistic(targets: sp.csr_matrix, release: sp.csr_matrix, k: int = 1) -> np.ndarray:
    """(n_targets,) logit of the mean Jaccard similarity of each target to its ``k`` nearest released profiles
    (clipped to [1e-4, 1 - 1e-4]): the black-box statistic of :func:`shadow_membership`."""
    s = P.nearest_jaccard(targets, release, k=k).mean(1)
    s = np.clip(s, 1e-4, 1 - 1e-4)
    return np.log(s / (1 - s))


def generator_loglik(synth: Any, targets: sp.csr_matrix, *, n_z: int = 256, seed: int = 0,
                     chunk: int = 2048) -> np.ndarray:
    """(n_targets,) the generator's own log-likelihood of each target profile, per (item, behaviour) pair:
    log mean_z prod_{(c, i) in x} softmax(logits_z[c] / T)[i], divided by |x|, over ``n_z`` draws of the
    generator's noise (and activity level). ``targets``: CSR (n, channels x items) in the generator's
    behaviour order (items drawn without replacement are scored as if with replacement). Works for every
    :class:`~recgan.synth.base.Synthesizer` (the independent sampler's logits do not depend on the noise)."""
    synth._check_fitted()
    gen = torch.Generator().manual_seed(int(seed))
    sizes = synth.activity.sample(n_z, np.random.default_rng([int(seed), 13]), synth.funnel)
    with torch.no_grad():
        lg = synth._logits(sizes, gen).float() / synth._temperature()
        L = torch.log_softmax(lg, -1).reshape(n_z, -1).numpy().astype(np.float64)  # (n_z, C x items)
    X = sp.csr_matrix(targets, dtype=np.float64)
    if X.shape[1] != L.shape[1]:
        raise RecganError(f"targets have {X.shape[1]} columns, the generator {L.shape[1]} (channels x items)")
    out = np.zeros(X.shape[0])
    size = np.maximum(np.diff(X.indptr), 1)
    for lo in range(0, X.shape[0], chunk):
        A = np.asarray(X[lo : lo + chunk] @ L.T)  # (chunk, n_z) summed log-probabilities
        m = A.max(1, keepdims=True)
        out[lo : lo + chunk] = (m[:, 0] + np.log(np.exp(A - m).mean(1))) / size[lo : lo + chunk]
    return out


# ------------------------------------------------------------------------------------------ shadows
@dataclasses.dataclass
class ShadowRelease:
    """What one shadow run releases: the synthetic users, and the generator when it is released too."""

    release: Interactions
    generator: Any | None = None


ShadowMaker = Callable[[Interactions, int, int], ShadowRelease]
"""``make(data, n_release, seed) -> ShadowRelease``: fit the release mechanism on ``data`` and release
``n_release`` users."""


def copy_shadow(data: Interactions, n_release: int, seed: int) -> ShadowRelease:
    """The shadow of "copy of train" (and of any release of real users): the shadow data themselves."""
    return ShadowRelease(data)


def _config_dict(config: Any) -> dict[str, Any]:
    if hasattr(config, "model_dump"):
        return dict(config.model_dump())
    return dataclasses.asdict(config)


def synthesizer_shadow(name: str, params: dict[str, Any] | None = None, *, fast: bool = True,
                       white_box: bool = True) -> ShadowMaker:
    """A shadow maker that fits the registered synthesizer ``name`` with ``params`` (the release's own
    hyper-parameters) on the shadow data and samples the release size. ``fast``: the cheap version of the same
    kind (the GAN released right after its spectral start, i.e. 0 adversarial epochs: what carries the
    release; the VAE at 10 epochs)."""
    from recgan.synth import make_synthesizer

    params = dict(params or {})
    params.pop("device", None)
    if fast and name == "gan":
        params.update(epochs=0, init="spectral")
    if fast and name == "vae":
        params["epochs"] = min(int(params.get("epochs") or 60), 10)

    def make(data: Interactions, n_release: int, seed: int) -> ShadowRelease:
        s = make_synthesizer(name, **{**params, "seed": int(seed)}).fit(data)
        return ShadowRelease(s.sample_interactions(n_release, seed=int(seed)), s if white_box else None)

    return make


def shadow_of(synth: Any, *, fast: bool = True) -> ShadowMaker:
    """The shadow maker of the same kind as a fitted synthesizer (its config, fast version)."""
    return synthesizer_shadow(synth.name, _config_dict(synth.config), fast=fast)


def stack_users(parts: list[Interactions]) -> Interactions:
    """The users of ``parts`` (same items and behaviours) as one :class:`Interactions`, in order, with fresh
    ids ``0 .. n - 1``."""
    first = parts[0]
    mats = {}
    for b in first.behaviours:
        mats[b] = sp.vstack([p.matrices[b] if b in p.matrices else sp.csr_matrix((p.n_users, p.n_items), dtype=np.float32)
                             for p in parts], format="csr")
    n = sum(p.n_users for p in parts)
    return Interactions(mats, first.target, IdMap(np.arange(n, dtype=np.int64), "user"), first.items)


def balanced_inclusion(n_shadows: int, n: int, rng: np.random.Generator) -> np.ndarray:
    """(n_shadows, n) bool: every column holds exactly ``n_shadows // 2`` True at random rows (each target
    in half of the shadows)."""
    keys = rng.random((n_shadows, n))
    return np.argsort(np.argsort(keys, axis=0), axis=0) < n_shadows // 2


def lira_scores(observed: np.ndarray, shadow_stats: np.ndarray, inclusion: np.ndarray,
                min_std: float = 1e-2, mode: str = "online") -> np.ndarray:
    """Per target, ``online``: log N(observed; mu_in, s_in) - log N(observed; mu_out, s_out); ``offline``:
    (observed - mu_out) / s_out (how far above its own out-distribution the target sits: Carlini et al.'s
    one-sided offline test, a monotone function of it). mu per target from the shadows with / without it, the
    standard deviations global (pooled residuals, "fixed variance"; floored at ``min_std``).
    ``shadow_stats``, ``inclusion``: (n_shadows, n_targets); higher = member."""
    inc = inclusion.astype(np.float64)
    n_in, n_out = inc.sum(0), (1 - inc).sum(0)
    if (n_in == 0).any() or (n_out == 0).any():
        raise RecganError("every target needs shadows with and without it (n_shadows >= 2)")
    mu_in = (shadow_stats * inc).sum(0) / n_in
    mu_out = (shadow_stats * (1 - inc)).sum(0) / n_out
    s_in = max(np.sqrt(((shadow_stats - mu_in) ** 2 * inc).sum() / max(inc.sum() - len(mu_in), 1)), min_std)
    s_out = max(np.sqrt(((shadow_stats - mu_out) ** 2 * (1 - inc)).sum() / max((1 - inc).sum() - len(mu_out), 1)),
                min_std)
    if mode == "offline":
        return (observed - mu_out) / s_out
    if mode != "online":
        raise RecganError(f"LiRA mode must be online or offline, got {mode!r}")
    ll_in = -0.5 * ((observed - mu_in) / s_in) ** 2 - np.log(s_in)
    ll_out = -0.5 * ((observed - mu_out) / s_out) ** 2 - np.log(s_out)
    return ll_in - ll_out


def _profiles(d: Interactions, behaviours: list[str]) -> sp.csr_matrix:
    return P.profiles([d.binary(b) if b in d.matrices else sp.csr_matrix((d.n_users, d.n_items), dtype=np.float32)
                       for b in behaviours])


def shadow_membership(members: Interactions, non_members: Interactions, reference: Interactions,
                      release: Interactions, make_shadow: ShadowMaker, *, generator: Any | None = None,
                      n_shadows: int = 8, k: int = 1, seed: int = 0, n_boot: int = 200,
                      n_z: int = 256) -> dict[str, Any]:
    """LiRA membership inference against ``release`` (see :data:`THREAT_MODELS`).

    ``members``: real users the release was trained on (targets, label 1); ``non_members``: real users it was
    not (targets, label 0); ``reference``: the attacker's other real users (only ever shadow training data).
    Shadow k trains ``make_shadow`` on the reference users in it and the targets in it (each target in exactly
    half of the ``n_shadows`` shadows, each reference user at random) and releases as many users as
    ``release`` holds. ``generator``: the released generator (adds the ``generator`` setting when the shadows
    release theirs too). Returns {setting: :func:`roc_figures` + ``epsilon_lb``} and ``_scores`` {setting:
    (member scores, non-member scores)}."""
    if n_shadows < 2 or n_shadows % 2:
        raise RecganError(f"n_shadows must be an even number >= 2, got {n_shadows}")
    beh = release.behaviours
    targets = stack_users([members, non_members])
    n_t, n_m = targets.n_users, members.n_users
    X_t = _profiles(targets, beh)
    rng = np.random.default_rng([seed, 41])
    inc_t = balanced_inclusion(n_shadows, n_t, rng)
    inc_r = rng.random((n_shadows, reference.n_users)) < 0.5
    pool = stack_users([targets, reference])
    settings = {"synthetic": nearest_statistic(X_t, _profiles(release, beh), k)}
    if generator is not None:
        settings["generator"] = generator_loglik(generator, X_t, n_z=n_z, seed=seed)
    stats = {s: np.zeros((n_shadows, n_t)) for s in settings}
    for j in range(n_shadows):  # one shadow fit each: the unit of work, not a per-user loop
        rows = np.flatnonzero(np.r_[inc_t[j], inc_r[j]])
        shadow = make_shadow(pool.select_users(rows), release.n_users, int(seed) * 1000 + j)
        stats["synthetic"][j] = nearest_statistic(X_t, _profiles(shadow.release, beh), k)
        if "generator" in settings:
            if shadow.generator is None:
                raise RecganError("the generator setting needs shadows that release their generator")
            stats["generator"][j] = generator_loglik(shadow.generator, X_t, n_z=n_z, seed=seed)
    out: dict[str, Any] = {"n_shadows": n_shadows, "k": k, "reference_users": reference.n_users, "_scores": {}}
    label = np.r_[np.ones(n_m, bool), np.zeros(n_t - n_m, bool)]
    for s, obs in settings.items():
        sc = lira_scores(obs, stats[s], inc_t)
        fig = roc_figures(sc[label], sc[~label], n_boot=n_boot, seed=seed)
        fig["epsilon_lb"] = P.epsilon_lower_bound(sc, label, delta=0.0)["epsilon_lb"]
        out[s] = fig
        out["_scores"][s] = (sc[label], sc[~label])
    return out


# ------------------------------------------------------------------------------------------ attribute inference
def _split_known(X: sp.csr_matrix, k: int, rng: np.random.Generator) -> tuple[sp.csr_matrix, sp.csr_matrix]:
    """Each row's entries split at random into ``k`` known ones and the hidden rest (vectorised)."""
    X = sp.csr_matrix(X)
    row = np.repeat(np.arange(X.shape[0]), np.diff(X.indptr))
    known = within_row_rank(X, rng) < k

    def part(sel: np.ndarray) -> sp.csr_matrix:
        return sp.csr_matrix((np.ones(int(sel.sum()), np.float32), (row[sel], X.indices[sel])), shape=X.shape)

    return part(known), part(~known)


def attribute_accuracy(targets: sp.csr_matrix, release: sp.csr_matrix, *, k: int = 5, power: float = 8.0,
                       seed: int = 0, chunk: int = 512) -> np.ndarray:
    """(n_targets,) R-precision of the attribute attack per target: ``k`` random (item, behaviour) pairs of the
    target are known; each released profile votes for its pairs with weight (share of the known pairs it
    holds) ^ ``power``, plus a tie-break by the release's popularity; the top |hidden| unknown pairs are the
    guess; the value is the share of hidden pairs guessed. Targets need > ``k`` pairs (others: NaN)."""
    rng = np.random.default_rng([seed, 53])
    T, S = sp.csr_matrix(targets, dtype=np.float32), sp.csr_matrix(release, dtype=np.float32)
    S.data[:] = 1.0
    known, hidden = _split_known(T, k, rng)
    n_known, n_hidden = np.diff(known.indptr), np.diff(hidden.indptr)
    pop = np.asarray(S.sum(0)).ravel().astype(np.float64)
    tie = 1e-6 * pop / max(pop.max(), 1.0) + 1e-9 * rng.random(S.shape[1])
    ST = S.T.tocsr()
    out = np.full(T.shape[0], np.nan)
    for lo in range(0, T.shape[0], chunk):
        hi = min(lo + chunk, T.shape[0])
        W = (known[lo:hi] @ ST).tocsr()  # (chunk, release users) known pairs held
        W.data = (W.data / np.maximum(n_known[lo + np.repeat(np.arange(hi - lo), np.diff(W.indptr))], 1)) ** power
        score = np.asarray((W @ S).todense(), dtype=np.float64) + tie  # (chunk, columns)
        kn = known[lo:hi]
        score[np.repeat(np.arange(hi - lo), np.diff(kn.indptr)), kn.indices] = -np.inf
        h = n_hidden[lo:hi]
        srt = -np.sort(-score, axis=1)
        thr = srt[np.arange(hi - lo), np.clip(h - 1, 0, score.shape[1] - 1)]
        hd = hidden[lo:hi]
        hrow = np.repeat(np.arange(hi - lo), np.diff(hd.indptr))
        hit = score[hrow, hd.indices] >= thr[hrow]
        got = np.bincount(hrow, weights=hit, minlength=hi - lo)
        ok = h > 0
        out[lo:hi][ok] = got[ok] / h[ok]
    return out


def attribute_inference(members: sp.csr_matrix, non_members: sp.csr_matrix, release: sp.csr_matrix, *,
                        k: int = 5, power: float = 8.0, seed: int = 0, n_boot: int = 200,
                        level: float = 0.95) -> dict[str, float]:
    """The attribute attack (:func:`attribute_accuracy`) on training users (``members``) and fresh real users
    (``non_members``), both CSR over the release's columns. ``advantage`` = mean R-precision of members minus
    non-members (0 = no leak), with a bootstrap interval."""
    am = attribute_accuracy(members, release, k=k, power=power, seed=seed)
    an = attribute_accuracy(non_members, release, k=k, power=power, seed=seed + 1)
    am, an = am[np.isfinite(am)], an[np.isfinite(an)]
    if not len(am) or not len(an):
        raise RecganError(f"attribute inference needs users with more than {k} items among members and non-members")
    rng = np.random.default_rng([seed, 59])
    bm = am[rng.integers(0, len(am), (n_boot, len(am)))].mean(1)
    bn = an[rng.integers(0, len(an), (n_boot, len(an)))].mean(1)
    a = (1 - level) / 2
    adv = bm - bn
    return {"members": float(am.mean()), "non_members": float(an.mean()), "advantage": float(am.mean() - an.mean()),
            "advantage_ci_low": float(np.quantile(adv, a)), "advantage_ci_high": float(np.quantile(adv, 1 - a)),
            "k_known": k, "targets_members": len(am), "targets_non_members": len(an)}


# ------------------------------------------------------------------------------------------ canaries
def canary_audit(release: sp.csr_matrix, canaries: sp.csr_matrix, decoys: sp.csr_matrix | None = None, *,
                 claimed_epsilon: float | None = None, delta: float = 0.0, threshold: float = 0.8,
                 alpha: float = 0.05) -> dict[str, Any]:
    """Canaries vs decoys in ``release`` (all CSR over the same item columns). Reproduced counts (a released
    user holds >= ``threshold`` of the items), and, with decoys, the empirical epsilon from the scores (the
    largest share of a canary / decoy one released user holds): ``epsilon_lb`` at confidence 1 - ``alpha``
    (Clopper-Pearson) and ``epsilon_point`` (the same bound at the observed rates), beside ``claimed_epsilon``
    (None = no DP claim)."""
    c = P.canary_reproduction(release, canaries, threshold)
    out: dict[str, Any] = {"canaries": c["n"], "canaries_reproduced": c["reproduced"], "threshold": threshold,
                           "claimed_epsilon": claimed_epsilon}
    if decoys is not None and decoys.shape[0]:
        d = P.canary_reproduction(release, decoys, threshold)
        out.update(decoys=d["n"], decoys_reproduced=d["reproduced"])
        scores = np.r_[c["max_overlap"], d["max_overlap"]]
        planted = np.r_[np.ones(c["n"], bool), np.zeros(d["n"], bool)]
        lb = P.epsilon_lower_bound(scores, planted, delta=delta, alpha=alpha)
        out.update(epsilon_lb=lb["epsilon_lb"], epsilon_point=lb.get("epsilon_point", 0.0),
                   epsilon_confidence=1 - alpha)
    return out
