"""Typed request and response bodies of the HTTP API (they are also its OpenAPI schema).

Ids travel as the caller wrote them: a JSON string or integer. Request bodies forbid unknown fields, so a
misspelt field is a 422 rather than a silently ignored option.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr

MAX_ID_LENGTH = 512
"""Longest string id accepted anywhere (URL or body)."""

MAX_INT_ID = 10**40
"""Largest magnitude of an id sent as a JSON integer (larger ones: 422; send them as strings)."""

Id = Annotated[StrictStr, Field(max_length=MAX_ID_LENGTH)] | Annotated[StrictInt, Field(ge=-MAX_INT_ID, le=MAX_INT_ID)]
"""A user or item id: JSON string or integer (never a float, bool or null), matched by the id rule of
recgan.data.ids: an integer matches the integer id of that value, or the string id that is its decimal text
(ids of 2^63 or more are strings in a model, so they match either way)."""

MAX_K = 1000
"""Longest list any endpoint returns (``k`` outside 1..MAX_K is a 422)."""


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid")  # numbers are strict too: "5" is not a k


# ---------------------------------------------------------------- requests
class HistoryRequest(_Request):
    history: list[Id] = Field(min_length=1, description="item ids the new user interacted with")
    k: int = Field(10, ge=1, le=MAX_K, strict=True, description="list length")
    exclude_seen: bool = Field(True, strict=True, description="never recommend an item of the history")


class BatchRequest(_Request):
    user_ids: list[Id] = Field(min_length=1, description="training users to recommend for")
    k: int = Field(10, ge=1, le=MAX_K, strict=True)
    exclude_seen: bool = Field(True, strict=True)


class SyntheticUsersRequest(_Request):
    n: int = Field(ge=1, strict=True, description="synthetic users to sample (upper bound set by the server)")
    seed: int | None = Field(None, ge=0, le=2**63 - 1, strict=True, description="sampling seed (default: random)")


class ReloadRequest(_Request):
    model_dir: str | None = Field(
        None, max_length=4096,
        description="model folder to load, absolute or relative to the server's model root "
                    "(default: the folder now served, read again)")


# ---------------------------------------------------------------- responses
class ScoredItem(BaseModel):
    item_id: Id
    score: float
    rank: int = Field(description="1-based position in the list")


class UserRecommendations(BaseModel):
    user_id: Id
    items: list[ScoredItem]


class RecommendationsResponse(UserRecommendations):
    model_version: str


class HistoryResponse(BaseModel):
    items: list[ScoredItem]
    unknown_items: list[Id] = Field(description="history ids the model does not know (they were not used)")
    model_version: str


class BatchResponse(BaseModel):
    results: list[UserRecommendations]
    unknown_users: list[Id] = Field(description="requested ids the model does not know (no result for them)")
    model_version: str


class SimilarItemsResponse(BaseModel):
    item_id: Id
    items: list[ScoredItem]
    model_version: str


class SyntheticInteraction(BaseModel):
    user: Id
    item: Id
    behaviour: str | None = None


class SyntheticUsersResponse(BaseModel):
    n_users: int
    seed: int
    interactions: list[SyntheticInteraction]
    model_version: str


class ModelInfo(BaseModel):
    name: str
    version: str = Field(description="content hash of the model folder's files")
    n_users: int
    n_items: int
    loaded_at: float = Field(description="Unix time the model was loaded")
    supports_fold_in: bool
    has_item_similarity: bool
    has_synthesizer: bool


class Health(BaseModel):
    status: str


class Ready(BaseModel):
    status: str
    model: ModelInfo


class ReloadResponse(BaseModel):
    status: str
    model: ModelInfo
    previous_version: str


class ErrorBody(BaseModel):
    code: str = Field(description="machine-readable reason, e.g. unknown_user, invalid_request")
    message: str
    details: list[dict[str, Any]] | None = None


class ErrorResponse(BaseModel):
    error: ErrorBody
