"""Synthetic user behaviour: generators that release new users, not copies of real ones.

* :class:`BehaviourSynthesizer` (``gan``): the GAN over whole profiles, optionally with user-level DP;
* :class:`IndependentSampler` (``independent``): item popularity x user activity (baseline);
* :class:`VAESynthesizer` (``vae``): a multinomial VAE decoder (non-adversarial deep baseline).

All share the contract of :class:`~recgan.synth.base.Synthesizer`: ``fit(Interactions) -> self``,
``sample(n_users, seed) -> DataFrame(user, item, behaviour)``, ``save(dir)`` / :func:`load_synthesizer`.
"""

from recgan.synth.base import REGISTRY, Synthesizer, load_synthesizer
from recgan.synth.gan import BehaviourSynthesizer
from recgan.synth.independent import IndependentSampler
from recgan.synth.vae import VAESynthesizer

__all__ = ["REGISTRY", "Synthesizer", "BehaviourSynthesizer", "IndependentSampler", "VAESynthesizer",
           "load_synthesizer", "make_synthesizer"]


def make_synthesizer(name: str, **params) -> Synthesizer:
    """A synthesizer by registry name (``gan``, ``vae``, ``independent`` ...) with typed parameters."""
    return REGISTRY.get(name)(**params)


# Every other module of this package that defines a generator registers it on import (one per file).
from recgan.core.registry import discover as _discover  # noqa: E402

_discover(__name__, __path__)
