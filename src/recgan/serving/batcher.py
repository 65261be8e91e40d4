"""Micro-batching of concurrent single-user recommendation requests.

Requests wait in a queue; one consumer takes everything queued (up to ``max_size``) and scores it with
one ``model.recommend`` call in the compute pool. While that call runs, new requests queue up and form the
next batch, so batches grow with load by themselves: at concurrency 1 a request waits for nothing, under
load a batched forward pass replaces many single-row ones (the win for models whose per-call cost is high,
such as a generator network; benchmarks/serve_load.py measures it). ``max_wait_s`` > 0 additionally holds a
partial batch that long for company.

Each request carries the model snapshot it started with; a batch is split by snapshot, so requests queued
across a reload are answered by the model they started with. Lists are computed at the largest ``k`` of the
batch and cut per request: the ranking is a total order (score, then item index), so the cut is exact.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass

import numpy as np

from recgan.serving.holder import LoadedModel


@dataclass(slots=True)
class _Job:
    snap: LoadedModel
    user: int
    k: int
    exclude_seen: bool
    future: asyncio.Future


class MicroBatcher:
    """Coalesces ``recommend(snapshot, user, k)`` calls made concurrently on one event loop."""

    def __init__(self, executor: Executor, max_size: int = 64, max_wait_s: float = 0.0,
                 on_batch: Callable[[int], None] | None = None) -> None:
        if max_size < 1:
            raise ValueError("max_size must be >= 1")
        self.executor = executor
        self.max_size = max_size
        self.max_wait_s = max_wait_s
        self.on_batch = on_batch
        self._queue: list[_Job] = []
        self._wakeup: asyncio.Event | None = None
        self._task: asyncio.Task | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def start(self) -> None:
        """Start the consumer on the running event loop (the app's lifespan does this)."""
        self._loop = asyncio.get_running_loop()
        self._wakeup = asyncio.Event()
        self._queue = []
        self._task = self._loop.create_task(self._run(), name="recgan-microbatcher")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None
        self._loop = None
        for job in self._queue:
            if not job.future.done():
                job.future.cancel()
        self._queue.clear()

    async def recommend(self, snap: LoadedModel, user: int, k: int, exclude_seen: bool
                        ) -> tuple[np.ndarray, np.ndarray]:
        """Top-``k`` (items, scores), 1-D internal indices with -1 / -inf padding, for one user index."""
        if self._loop is not asyncio.get_running_loop():  # no lifespan ran (a test client: one loop per call)
            self.start()
        assert self._wakeup is not None
        fut = asyncio.get_running_loop().create_future()
        self._queue.append(_Job(snap, user, k, exclude_seen, fut))
        self._wakeup.set()
        return await fut

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        assert self._wakeup is not None
        while True:
            await self._wakeup.wait()
            self._wakeup.clear()
            while self._queue:
                if self.max_wait_s > 0 and len(self._queue) < self.max_size:
                    await asyncio.sleep(self.max_wait_s)
                batch = self._queue[: self.max_size]
                del self._queue[: self.max_size]
                batch = [j for j in batch if not j.future.done()]  # the client went away
                groups: dict[tuple[int, bool], list[_Job]] = {}
                for job in batch:
                    groups.setdefault((id(job.snap), job.exclude_seen), []).append(job)
                for jobs in groups.values():
                    await self._score(loop, jobs)

    async def _score(self, loop: asyncio.AbstractEventLoop, jobs: list[_Job]) -> None:
        snap, exclude_seen = jobs[0].snap, jobs[0].exclude_seen
        users = np.fromiter((j.user for j in jobs), np.int64, len(jobs))
        k = max(j.k for j in jobs)
        try:
            items, scores = await loop.run_in_executor(
                self.executor, lambda: snap.model.recommend(users, k, exclude_seen=exclude_seen))
        except Exception as e:  # one bad batch fails its requests, never the consumer
            for j in jobs:
                if not j.future.done():
                    j.future.set_exception(e)
            return
        if self.on_batch is not None:
            self.on_batch(len(jobs))
        for row, j in enumerate(jobs):
            if not j.future.done():
                j.future.set_result((items[row, : j.k], scores[row, : j.k]))
