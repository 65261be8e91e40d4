"""Resumable augmentation runs: :func:`recgan.augment.augment_log` with ``checkpoint=DIR``.

``augment_log``'s long part is scoring candidates on the validation carve (EASE's ridge tuned on the carve,
then per densifier: fit, then one downstream fit per volume x weight setting); a trained generator (CFGAN,
the behaviour synthesizer) alone can take hours on a large log. With a checkpoint folder, each finished
step is kept as it ends and a rerun with the same log and settings loads it instead of recomputing it:

``DIR/run.json``
    what the run is: a digest of the training log and of every setting that changes a result (seed,
    downstream model, volume / weight, generator parameters). A folder holding another run is refused.
``DIR/carve.json``, ``DIR/carve.npz``
    the downstream model's tuning on the carve and no augmentation's per-user validation NDCG@20.
``DIR/candidates/NAME/``
    one scored candidate: ``candidate.json`` (its volume / weight, carve score, table, seconds; written
    last, it marks the candidate complete), ``per_user.npz`` and, for generators applied as trained on the
    carve (``refit_on_full`` False), ``generator/`` (a model or synthesizer folder). Closed-form densifiers
    are refitted on the carve when loaded (seconds).
``DIR/candidates/NAME/train/``
    a trained generator's checkpoint after each epoch (:mod:`recgan.core.checkpoint`); an interrupted
    training continues from its last epoch.

Everything loaded is what was written (JSON floats round-trip exactly; arrays and weights are stored
bit for bit), so a resumed run's augmented log equals an uninterrupted one's on the same device.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from recgan.errors import RecganError
from recgan.io import load_npz, to_jsonable, write_json, write_npz

if TYPE_CHECKING:
    from recgan.augment.core import Selection
    from recgan.augment.densifiers.base import Densifier
    from recgan.data.interactions import Interactions

FORMAT = 1
"""Version of the checkpoint layout; a folder of another version is refused."""


def run_digest(real: Interactions, settings: dict[str, Any]) -> str:
    """SHA-256 of the target-behaviour log (matrix, user and item ids) and the JSON of ``settings``."""
    h = hashlib.sha256()
    X = real.X
    for a in (X.indptr, X.indices, X.data):
        h.update(np.ascontiguousarray(a).tobytes())
    h.update(json.dumps([X.shape, real.users.to_list(), real.items.to_list()], default=to_jsonable).encode())
    h.update(json.dumps(settings, sort_keys=True, default=to_jsonable).encode())
    return h.hexdigest()


class AugmentCheckpoint:
    """The checkpoint folder of one augmentation run (see the module docstring)."""

    def __init__(self, folder: str | os.PathLike[str], real: Interactions, settings: dict[str, Any]) -> None:
        self.folder = Path(folder)
        self.loaded: list[str] = []
        """The steps loaded from the folder so far (``carve``, candidate names), in order."""
        digest = run_digest(real, settings)
        run = self.folder / "run.json"
        if run.is_file():
            try:
                old = json.loads(run.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                old = {}
            if old.get("format") != FORMAT or old.get("digest") != digest:
                raise RecganError(f"{self.folder}: holds the checkpoint of another augmentation run (another log, "
                                  "seed or settings); give an empty folder or delete this one")
        elif self.folder.exists() and (not self.folder.is_dir() or any(self.folder.iterdir())):
            raise RecganError(f"{self.folder}: exists and is not an augmentation checkpoint folder (no run.json); "
                              "give an empty or new folder")
        else:
            write_json(run, {"format": FORMAT, "digest": digest, "settings": settings})

    # ------------------------------------------------------------------ the shared carve
    def load_carve(self) -> dict[str, Any] | None:
        """``{"selection": ..., "none": float (n_valid_users,)}`` when the carve step is kept, else None."""
        meta = self.folder / "carve.json"
        if not meta.is_file():
            return None
        self.loaded.append("carve")
        return {**json.loads(meta.read_text(encoding="utf-8")), "none": load_npz(self.folder / "carve.npz")["none"]}

    def save_carve(self, selection: dict[str, Any], none: np.ndarray) -> None:
        write_npz(self.folder / "carve.npz", none=np.asarray(none))
        write_json(self.folder / "carve.json", {"selection": selection})

    # ------------------------------------------------------------------ candidates
    def train_dir(self, name: str) -> Path:
        """Folder of candidate ``name``'s mid-training checkpoints (``train/last``)."""
        return self.folder / "candidates" / name / "train"

    def trained_epochs(self, name: str) -> int | None:
        """The epoch of candidate ``name``'s last mid-training checkpoint, None when there is none."""
        from recgan.core.checkpoint import checkpoint_epoch

        return checkpoint_epoch(self.train_dir(name) / "last")

    def load_candidate(self, name: str, d: Densifier, refit, device: str) -> tuple[Any, Selection, float] | None:
        """(generator, selection, seconds) of a kept candidate, else None. ``refit()``: the generator fitted
        on the carve again (closed-form densifiers, which are not stored)."""
        from recgan.augment.core import Selection

        folder = self.folder / "candidates" / name
        meta = folder / "candidate.json"
        if not meta.is_file():
            return None
        rec = json.loads(meta.read_text(encoding="utf-8"))
        per_user = load_npz(folder / "per_user.npz")["per_user"]
        sel = Selection(rec["setting"], rec["score"], per_user, rec["table"])
        if d.refit_on_full:
            g = refit()
        elif d.strategy == "densify":
            from recgan.models.base import Recommender

            g = Recommender.load(folder / "generator", device=device)
        else:
            from recgan.synth.base import load_synthesizer

            g = load_synthesizer(folder / "generator")
        self.loaded.append(name)
        return g, sel, float(rec["seconds"])

    def save_candidate(self, name: str, d: Densifier, generator: Any, selection: Selection, seconds: float) -> None:
        """Keep a scored candidate; ``candidate.json`` is written last (the completion mark)."""
        folder = self.folder / "candidates" / name
        if not d.refit_on_full:
            generator.save(folder / "generator")
        write_npz(folder / "per_user.npz", per_user=np.asarray(selection.per_user))
        write_json(folder / "candidate.json", {"setting": selection.setting, "score": selection.score,
                                               "table": selection.table, "seconds": seconds})
