"""Embedding cache keyed by content hash, in memory and optionally on disk.

No torch import: the cache wraps any object with ``model_id`` and ``encode``.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections import OrderedDict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol

import numpy as np

ProgressCallback = Callable[[int, int], None]


class Encoder(Protocol):
    @property
    def model_id(self) -> str: ...

    def encode(
        self, texts: Sequence[str], progress: ProgressCallback | None = None
    ) -> np.ndarray: ...


def embedding_key(model_id: str, text: str) -> str:
    """``sha256(model_id + "\\0" + text)`` as hex: the cache key of one embedding."""
    return hashlib.sha256(f"{model_id}\0{text}".encode()).hexdigest()


class EmbeddingCache:
    """Embeddings by key: an in-memory LRU map, backed by ``directory`` when one is given.

    On disk each embedding is one ``.npy`` file at ``directory/<key[:2]>/<key>.npy``. Files are
    written to a temporary name in the same folder and renamed into place, so two processes
    writing the same key at once both succeed and a reader never sees a partial file (the
    rename is atomic; both writers hold the same bytes, so the last rename wins harmlessly).
    A file that cannot be read back is treated as a miss and rewritten.
    """

    def __init__(self, directory: Path | None = None, *, max_memory_items: int = 50_000):
        if max_memory_items < 0:
            raise ValueError(f"max_memory_items must be >= 0, got {max_memory_items}")
        self.directory = Path(directory) if directory is not None else None
        self.max_memory_items = max_memory_items
        self._memory: OrderedDict[str, np.ndarray] = OrderedDict()
        if self.directory is not None:
            self.directory.mkdir(parents=True, exist_ok=True)

    def _path(self, key: str) -> Path:
        assert self.directory is not None
        return self.directory / key[:2] / f"{key}.npy"

    def _remember(self, key: str, vector: np.ndarray) -> None:
        if self.max_memory_items == 0:
            return
        self._memory[key] = vector
        self._memory.move_to_end(key)
        while len(self._memory) > self.max_memory_items:
            self._memory.popitem(last=False)

    def get(self, key: str) -> np.ndarray | None:
        """The stored vector for ``key``, or ``None``."""
        vector = self._memory.get(key)
        if vector is not None:
            self._memory.move_to_end(key)
            return vector
        if self.directory is None:
            return None
        try:
            vector = np.load(self._path(key), allow_pickle=False)
        except (OSError, ValueError):
            return None
        vector.setflags(write=False)
        self._remember(key, vector)
        return vector

    def put(self, key: str, vector: np.ndarray) -> None:
        """Store ``vector`` (copied, as float32) under ``key``; idempotent."""
        vector = np.array(vector, dtype=np.float32, copy=True)
        vector.setflags(write=False)
        self._remember(key, vector)
        if self.directory is None:
            return
        target = self._path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        descriptor, temporary = tempfile.mkstemp(dir=target.parent, prefix=".tmp-", suffix=".npy")
        try:
            with os.fdopen(descriptor, "wb") as handle:
                np.save(handle, vector, allow_pickle=False)
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise

    def __len__(self) -> int:
        """Entries held in memory (the disk may hold more)."""
        return len(self._memory)


class CachedEncoder:
    """An encoder that embeds only the texts ``cache`` does not hold; same ``encode`` contract.

    Duplicate texts within one call are embedded once.
    """

    def __init__(self, encoder: Encoder, cache: EmbeddingCache):
        self.encoder = encoder
        self.cache = cache

    @property
    def model_id(self) -> str:
        return self.encoder.model_id

    def encode(self, texts: Sequence[str], progress: ProgressCallback | None = None) -> np.ndarray:
        """Return ``(len(texts), dim)`` float32 embeddings; ``progress(done, total)`` counts
        texts, cache hits included, and ends at ``(len(texts), len(texts))``."""
        texts = list(texts)
        total = len(texts)
        keys = [embedding_key(self.model_id, text) for text in texts]
        found: dict[str, np.ndarray] = {}
        missing: dict[str, str] = {}
        for key, text in zip(keys, texts, strict=False):
            if key in found or key in missing:
                continue
            vector = self.cache.get(key)
            if vector is None:
                missing[key] = text
            else:
                found[key] = vector
        hits = total - sum(1 for key in keys if key in missing)
        if progress is not None and hits:
            progress(hits, total)
        if missing:
            miss_count = sum(1 for key in keys if key in missing)
            unique = len(missing)

            def report(done: int, _: int) -> None:
                if progress is not None:
                    progress(hits + round(done * miss_count / unique), total)

            vectors = self.encoder.encode(list(missing.values()), progress=report)
            for key, vector in zip(missing, vectors, strict=False):
                self.cache.put(key, vector)
                found[key] = vector
        if not texts:
            return np.empty((0, getattr(self.encoder, "dim", 0)), dtype=np.float32)
        return np.stack([found[key] for key in keys]).astype(np.float32, copy=False)
