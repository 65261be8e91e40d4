"""The shared item-item scoring kernels (recgan.models._itemitem)."""

import numpy as np
import scipy.sparse as sp
import torch

from recgan.models._itemitem import sparse_sparse_dense_product


def test_sparse_sparse_dense_product_matches_scipy_on_several_threads():
    rng = np.random.default_rng(0)
    A = sp.random(301, 50, density=0.1, format="csr", random_state=rng, dtype=np.float64)
    W = sp.random(50, 70, density=0.2, format="csr", random_state=rng, dtype=np.float32)
    want = (A @ W).toarray()
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(3)
        got = sparse_sparse_dense_product(A, W, min_rows=10)  # 3 row slices
    finally:
        torch.set_num_threads(threads)
    assert got.dtype == np.float32 and got.shape == (301, 70)
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(sparse_sparse_dense_product(A[:5], W), want[:5], rtol=1e-6, atol=1e-6)
