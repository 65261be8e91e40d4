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
    """A synthesizer by registry name (``gan``, ``vae``, ``independent``) with typed parameters."""
    from recgan.errors import RecganError

    if name not in REGISTRY:
        raise RecganError(f"unknown generator {name!r}; available: {', '.join(sorted(REGISTRY))}")
    return REGISTRY[name](**params)
