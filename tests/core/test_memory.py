"""The memory check shared by every fit that allocates n_users x n_items or n_items^2: one line with both figures
and the option, raised before anything is allocated."""

from __future__ import annotations

import pytest

from recgan.core.memory import MEMORY_FRACTION, available_memory, check_fits
from recgan.errors import RecganError


def test_check_fits_passes_within_the_fraction_and_names_both_figures_otherwise():
    check_fits(int(MEMORY_FRACTION * 2**30), "x", "y", available=2**30)
    with pytest.raises(RecganError, match=r"^the thing needs ~2\.0 GiB, 1\.0 GiB available; do less$"):
        check_fits(2**31, "the thing", "do less", available=2**30)
    assert available_memory() > 0
