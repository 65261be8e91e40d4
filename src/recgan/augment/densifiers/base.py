"""The densifier registry's base class.

A *densifier* is anything :func:`recgan.augment.augment_log` can augment a training log with. It implements
one of the two mechanisms of :mod:`recgan.augment.core`:

* ``densify``: a fitted :class:`~recgan.models.base.Recommender` whose top-``m`` unseen items are added to
  each sparse user with weight ``W`` (:func:`~recgan.augment.core.densify`);
* ``add-users``: a fitted behaviour synthesizer that samples ``n`` new users with weight ``W``
  (:func:`~recgan.augment.core.add_users`).

Everything else (the validation carve, the choice of volume and weight, the automatic choice between
densifiers, the CLI's ``--generator`` choices and help text) is generic and reads the registry.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, Literal

from recgan.core.registry import Registry

if TYPE_CHECKING:
    from recgan.data.interactions import Interactions

Strategy = Literal["densify", "add-users"]
RESERVED = ("auto", "none", "both")
"""Generator names with a meaning of their own in ``recgan augment --generator``."""

DENSIFIERS: Registry[type[Densifier]] = Registry("densifier")
"""Every densifier by name (``--generator NAME``); filled by :func:`register_densifier` as the
:mod:`recgan.augment.densifiers` package loads (one module per densifier)."""


class Densifier:
    """Base of every densifier. Subclasses set the class attributes, implement :meth:`fit` and say in the
    docstring's first sentence what they add (``--help`` and the docs show it)."""

    name: ClassVar[str] = ""
    """Registry and CLI name (``recgan augment --generator NAME``)."""
    strategy: ClassVar[Strategy] = "densify"
    """The mechanism it feeds: ``densify`` (top unseen items of a recommender) or ``add-users``."""
    takes_params: ClassVar[bool] = False
    """Whether it accepts generator parameters (``--generator-param`` / ``--synth-param``)."""
    refit_on_full: ClassVar[bool] = True
    """After volume and weight are chosen on the carve, refit on the whole real log (cheap closed-form or
    counting models). False: the generator trained on the carve's train part is applied to the whole log
    (CFGAN folds in each user's full history; the synthesizer samples users), as its early stopping used
    the carve's validation part."""
    in_auto: ClassVar[bool] = True
    """Candidate of ``--generator auto``."""
    cost: ClassVar[int] = 10
    """Rank in ``auto``'s preference on a tie (lower = simpler; built-ins: pop 1, itemknn 2, ease 3, synth 4,
    cfgan 5): among the candidates within the carve's noise of the best, the simplest wins. A trained
    generator's carve score is optimistic (CFGAN early-stops on the same carve), which favours it otherwise."""

    def fit(self, train: Interactions, *, seed: int = 0, valid: Interactions | None = None, l2: float = 500.0,
            params: dict[str, Any] | None = None, device: str = "cpu",
            checkpoint_dir: str | None = None) -> Any:
        """The fitted generator, trained on ``train`` (real target data, binary).

        Args:
            valid: validation interactions for early stopping (the carve's validation part), or None.
            l2: EASE's ridge strength tuned on the carve (for densifiers that use EASE; others ignore it).
            params: generator parameters (only when :attr:`takes_params`).
            device: torch device for trained generators.
            checkpoint_dir: folder for a trained generator's checkpoint after each epoch; training resumes
                from the last one kept there. Optional in subclasses: a densifier whose ``fit`` does not take
                it is fitted from scratch when a run resumes.
        """
        raise NotImplementedError


def register_densifier(cls: type[Densifier]) -> type[Densifier]:
    """Class decorator: make a densifier available by ``cls.name`` (``--generator NAME``, ``auto``)."""
    if not cls.name or cls.name in RESERVED:
        raise ValueError(f"densifier name {cls.name!r} is empty or reserved ({', '.join(RESERVED)})")
    return DENSIFIERS.add(cls)


def get_densifier(name: str) -> Densifier:
    """The registered densifier ``name``; a one-line error listing the available ones otherwise."""
    import recgan.augment.densifiers  # noqa: F401  (registers every built-in densifier)

    return DENSIFIERS.get(name)()


def densifier_names(strategy: Strategy | None = None, *, auto_only: bool = False) -> list[str]:
    """Registered densifier names, sorted (all, or those of one ``strategy``; ``auto_only``: the candidates
    of ``--generator auto``)."""
    import recgan.augment.densifiers  # noqa: F401

    return [n for n, cls in DENSIFIERS.items()
            if (strategy is None or cls.strategy == strategy) and (cls.in_auto or not auto_only)]
