"""IRGAN for item recommendation (Wang et al., SIGIR 2017), following the authors' ``cf_gan.py``.

Two matrix-factorisation models with item bias, score(u, i) = p_u . q_i + b_i:

* the discriminator D scores user-item pairs; it learns to tell a user's observed items (label 1) from items
  the generator samples for that user (label 0): sigmoid cross-entropy plus L2 on the batch;
* the generator G is a softmax policy over the catalogue, p_G(i | u) = softmax_i(score_G(u, i)); it samples
  items for a user and is updated by REINFORCE with reward 2 (sigmoid(D(u, i)) - 0.5). As in the authors'
  code, G's samples come from the importance-sampling mix P_n = (1 - lambda) p_G + lambda x uniform over the
  user's observed items, the reward is reweighted by p_G / P_n, and a user draws ``g_samples`` x |pos_u| items;
  D's negatives come from p_G at ``temperature`` (0.2 in the code).

Users are batched: a batch's logits (B, n_items) are built at once and every user's samples are drawn on
tensors by inverse-CDF sampling with the model's generator (per-user counts handled by masks). One trainer
epoch = ``d_epochs`` discriminator passes (fresh negatives each) then ``g_epochs`` generator passes; the
generator ranks. The authors start G from a pretrained MF (``model_dns_ori.pkl``, not mentioned in the
paper): ``g_pretrain_epochs`` / ``d_pretrain_epochs`` BPR epochs at the start give both variants.
"""

from __future__ import annotations

import numpy as np
import torch
from pydantic import Field
from torch.nn import functional as F

from recgan.data.interactions import Interactions
from recgan.models.base import register
from recgan.models.mf import MF, TripleSampler, bpr_loss
from recgan.models.torch_base import TorchConfig, TorchRecommender, csr_to_dense


class IRGANConfig(TorchConfig):
    epochs: int = Field(20, ge=1)
    """Maximum adversarial epochs (each: ``d_epochs`` D passes, then ``g_epochs`` G passes)."""
    batch_size: int = Field(1024, ge=1)
    """(user, item) pairs per discriminator step; also the triple batch of BPR pretraining."""
    user_batch: int = Field(64, ge=1)
    """Users per generator step (and per sampling chunk)."""
    lr: float = Field(3e-4, ge=0)
    """Adam learning rate of the generator."""
    lr_d: float = Field(5e-3, ge=0)
    """Adam learning rate of the discriminator."""
    patience: int = Field(3, ge=0)
    """Evaluations without a validation gain before training stops."""
    factors: int = Field(64, ge=1)
    """Embedding dimension of G and D."""
    init_std: float = Field(0.1, gt=0)
    """Standard deviation of the normal initialisation of the embeddings."""
    temperature: float = Field(0.2, gt=0)
    """Temperature of p_G when sampling negatives for D (the authors' code: 0.2)."""
    sample_lambda: float = Field(0.2, ge=0)
    """Importance-sampling mix: share of G's samples drawn from the user's observed items."""
    g_samples: float = Field(2.0, ge=0)
    """Items G samples per user, as a multiple of the user's observed items (the code: 2)."""
    d_epochs: int = Field(3, ge=1)
    """Discriminator passes over the training pairs per epoch."""
    g_epochs: int = Field(1, ge=1)
    """Generator passes over the users per epoch."""
    reg_d: float = Field(0.01, ge=0)
    """L2 weight on D's batch embeddings and biases."""
    reg_g: float = Field(0.0, ge=0)
    """L2 weight on G's batch embeddings (the code: 0)."""
    g_pretrain_epochs: int = Field(100, ge=0)
    """BPR epochs that pretrain G before the minimax game (0 = start from random)."""
    d_pretrain_epochs: int = Field(50, ge=0)
    """BPR epochs that pretrain D before the minimax game (0 = start from random)."""
    pretrain_lr: float = Field(5e-3, ge=0)
    """Adam learning rate of BPR pretraining."""
    pretrain_reg: float = Field(0.01, ge=0)
    """L2 weight of BPR pretraining."""


def _sample_rows(logp: torch.Tensor, n: int, gen: torch.Generator) -> torch.Tensor:
    """``n`` items per row drawn from the row distributions exp(logp) (B, n_items) by inverse CDF;
    uniforms come from ``gen`` on CPU, so draws are identical on any device. Returns int64 (B, n)."""
    cdf = logp.exp().cumsum(1)
    r = torch.rand(logp.shape[0], n, generator=gen).to(logp.device) * cdf[:, -1:]
    return torch.searchsorted(cdf, r).clamp_max(logp.shape[1] - 1)


@register
class IRGAN(TorchRecommender):
    """IRGAN (Wang et al., 2017): an MF generator and an MF discriminator trained by policy gradient."""

    name = "irgan"
    config_class = IRGANConfig
    tune_grid = {"lr": [1e-4, 3e-4, 1e-3], "temperature": [0.2, 1.0]}

    def _build(self, data: Interactions) -> None:
        cfg = self.config
        self.G = MF(data.n_users, data.n_items, cfg.factors, cfg.init_std, self.gen).to(self.device)
        self.D = MF(data.n_users, data.n_items, cfg.factors, cfg.init_std, self.gen).to(self.device)
        self.opt_g = torch.optim.Adam(self.G.parameters(), lr=cfg.lr)
        self.opt_d = torch.optim.Adam(self.D.parameters(), lr=cfg.lr_d)
        self.X = data.binary()
        self.active = np.flatnonzero(np.diff(self.X.indptr) > 0)

    def modules(self) -> dict[str, torch.nn.Module]:
        return {"gen": self.G, "dis": self.D}

    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return {"opt_g": self.opt_g, "opt_d": self.opt_d}

    def _score(self, users: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return self.G.score_all(torch.as_tensor(users, dtype=torch.long, device=self.device)).cpu().numpy()

    # ------------------------------------------------------------------ training
    def train_epoch(self, epoch: int) -> dict[str, float]:
        out: dict[str, float] = {}
        if epoch == 1:
            out.update(self.pretrain())
        for _ in range(self.config.d_epochs):
            out.update(self.d_pass())
        for _ in range(self.config.g_epochs):
            out.update(self.g_pass())
        return out

    def pretrain(self) -> dict[str, float]:
        """BPR epochs for G and D (``g_pretrain_epochs`` / ``d_pretrain_epochs``); returns last losses."""
        cfg = self.config
        out = {}
        sampler = TripleSampler(self.X)
        for key, mf, n_ep in (("pre_g", self.G, cfg.g_pretrain_epochs), ("pre_d", self.D, cfg.d_pretrain_epochs)):
            if n_ep <= 0:
                continue
            opt = torch.optim.Adam(mf.parameters(), lr=cfg.pretrain_lr)
            for _ in range(n_ep):
                u, i, j = (t.to(self.device) for t in sampler.sample(sampler.nnz, self.gen))
                total = 0.0
                for lo in range(0, len(u), cfg.batch_size):
                    s = slice(lo, lo + cfg.batch_size)
                    loss = bpr_loss(mf.user[u[s]], mf.item[i[s]], mf.item[j[s]], mf.bias[i[s]], mf.bias[j[s]],
                                    cfg.pretrain_reg)
                    opt.zero_grad(set_to_none=True)
                    loss.backward()
                    opt.step()
                    total += loss.item()
            out[f"loss_{key}"] = total / max(1, -(-len(u) // cfg.batch_size))
        return out

    def _user_batches(self):
        """Shuffled batches of active users: (users np (B,), users tensor, dense positives (B, n_items))."""
        order = self.active[torch.randperm(len(self.active), generator=self.gen).numpy()]
        for lo in range(0, len(order), self.config.user_batch):
            users = order[lo : lo + self.config.user_batch]
            yield users, torch.as_tensor(users, device=self.device), csr_to_dense(self.X[users], self.device)

    def d_pass(self) -> dict[str, float]:
        """Sample one negative from p_G^(1/T) per observed pair, then one pass of D over all pairs."""
        cfg = self.config
        us, ps, ns = [], [], []
        with torch.no_grad():
            for _, u, pos in self._user_batches():
                npos = pos.sum(1).long()
                logp = F.log_softmax(self.G.score_all(u) / cfg.temperature, dim=1)
                neg = _sample_rows(logp, int(npos.max()), self.gen)
                keep = torch.arange(neg.shape[1], device=self.device)[None, :] < npos[:, None]
                rows, cols = torch.nonzero(pos, as_tuple=True)  # row-major: aligned with ``keep``
                us.append(u[rows])
                ps.append(cols)
                ns.append(neg[keep])
        u, p, n = torch.cat(us), torch.cat(ps), torch.cat(ns)
        perm = torch.randperm(len(u), generator=self.gen).to(self.device)
        u, p, n = u[perm], p[perm], n[perm]
        D, total, steps, real, fake = self.D, 0.0, 0, 0.0, 0.0
        for lo in range(0, len(u), cfg.batch_size):
            s = slice(lo, lo + cfg.batch_size)
            uu = torch.cat([u[s], u[s]])
            ii = torch.cat([p[s], n[s]])
            y = torch.cat([torch.ones(len(u[s])), torch.zeros(len(u[s]))]).to(self.device)
            pu, qi, bi = D.user[uu], D.item[ii], D.bias[ii]
            logit = (pu * qi).sum(-1) + bi
            loss = F.binary_cross_entropy_with_logits(logit, y)
            loss = loss + cfg.reg_d * (pu.pow(2).sum(-1) + qi.pow(2).sum(-1) + bi.pow(2)).mean()
            self.opt_d.zero_grad(set_to_none=True)
            loss.backward()
            self.opt_d.step()
            total += loss.item()
            steps += 1
            with torch.no_grad():
                prob = torch.sigmoid(logit)
                real += prob[y == 1].mean().item()
                fake += prob[y == 0].mean().item()
        return {"loss_d": total / steps, "d_real": real / steps, "d_fake": fake / steps}

    def g_pass(self) -> dict[str, float]:
        """One REINFORCE pass of G over the users, in batches, with the authors' importance sampling."""
        cfg = self.config
        total, steps, rew = 0.0, 0, 0.0
        for _, u, pos in self._user_batches():
            npos = pos.sum(1)
            n_s = torch.clamp((cfg.g_samples * npos).round(), min=1).long()
            logp = F.log_softmax(self.G.score_all(u), dim=1)
            with torch.no_grad():
                pn = (1 - cfg.sample_lambda) * logp.exp() + cfg.sample_lambda * pos / npos[:, None]
                log_pn = pn.clamp_min(1e-30).log()
                items = _sample_rows(log_pn, int(n_s.max()), self.gen)
                mask = (torch.arange(items.shape[1], device=self.device)[None, :] < n_s[:, None]).float()
                d_logit = (self.D.user[u][:, None, :] * self.D.item[items]).sum(-1) + self.D.bias[items]
                reward = 2 * (torch.sigmoid(d_logit) - 0.5)
                reward = reward * (logp.gather(1, items) - log_pn.gather(1, items)).exp()  # p_G / P_n
            lp = logp.gather(1, items)
            loss = -((lp * reward * mask).sum(1) / n_s).mean()
            if cfg.reg_g:
                loss = loss + cfg.reg_g * (self.G.user[u].pow(2).sum(-1).mean() + self.G.item[items].pow(2).sum(-1).mean())
            self.opt_g.zero_grad(set_to_none=True)
            loss.backward()
            self.opt_g.step()
            total += loss.item()
            rew += ((reward * mask).sum(1) / n_s).mean().item()
            steps += 1
        return {"loss_g": total / steps, "reward": rew / steps}
