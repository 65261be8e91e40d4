"""Every baseline passes the recommender contract."""

from recgan.testing import RecommenderContract


class TestEASE(RecommenderContract):
    model_name = "ease"
    params = {"l2": 10.0}


class TestItemKNN(RecommenderContract):
    model_name = "itemknn"
    params = {"neighbours": 10, "shrink": 1.0}


class TestRP3beta(RecommenderContract):
    model_name = "rp3beta"
    params = {"neighbours": 10}


class TestMostPopular(RecommenderContract):
    model_name = "pop"
