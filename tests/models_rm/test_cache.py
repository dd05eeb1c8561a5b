from __future__ import annotations

import hashlib
import multiprocessing

import numpy as np
import pytest

from models_rm.cache import CachedEncoder, EmbeddingCache, embedding_key


class CountingEncoder:
    """A fake encoder: a deterministic vector per text, and a record of what it embedded."""

    model_id = "fake-encoder@1"
    dim = 4

    def __init__(self):
        self.calls: list[list[str]] = []

    def encode(self, texts, progress=None):
        self.calls.append(list(texts))
        vectors = np.array(
            [
                np.frombuffer(hashlib.sha256(t.encode()).digest()[:16], dtype=np.float32)
                for t in texts
            ],
            dtype=np.float32,
        ).reshape(len(texts), self.dim)
        if progress is not None:
            progress(len(texts), len(texts))
        return vectors


def test_key_is_sha256_of_model_id_nul_text():
    assert embedding_key("m", "t") == hashlib.sha256(b"m\0t").hexdigest()
    assert embedding_key("m1", "t") != embedding_key("m2", "t")


def test_cache_hits_are_not_embedded_again():
    encoder = CountingEncoder()
    cached = CachedEncoder(encoder, EmbeddingCache(None))

    first = cached.encode(["a", "b"])
    second = cached.encode(["b", "c", "a"])

    assert encoder.calls == [["a", "b"], ["c"]]
    np.testing.assert_array_equal(second, encoder.encode(["b", "c", "a"]))
    np.testing.assert_array_equal(first, second[[2, 0]])


def test_duplicate_texts_in_one_call_are_embedded_once_and_progress_ends_at_total():
    encoder = CountingEncoder()
    cached = CachedEncoder(encoder, EmbeddingCache(None))
    cached.encode(["x"])
    seen = []

    result = cached.encode(
        ["x", "y", "y", "z"], progress=lambda done, total: seen.append((done, total))
    )

    assert encoder.calls[-1] == ["y", "z"]
    assert result.shape == (4, 4) and result.dtype == np.float32
    assert seen[0] == (1, 4) and seen[-1] == (4, 4)


def test_embeddings_persist_across_cache_instances(tmp_path):
    CachedEncoder(CountingEncoder(), EmbeddingCache(tmp_path)).encode(["kept", "also kept"])
    encoder = CountingEncoder()

    result = CachedEncoder(encoder, EmbeddingCache(tmp_path)).encode(["also kept", "kept"])

    assert encoder.calls == []
    np.testing.assert_array_equal(result, CountingEncoder().encode(["also kept", "kept"]))
    assert not list(tmp_path.rglob(".tmp-*")), "temporary files must be renamed into place"


def test_an_unreadable_cache_file_is_a_miss_and_is_rewritten(tmp_path):
    CachedEncoder(CountingEncoder(), EmbeddingCache(tmp_path)).encode(["t"])
    (stored,) = tmp_path.rglob("*.npy")
    stored.write_bytes(b"garbage")
    encoder = CountingEncoder()

    CachedEncoder(encoder, EmbeddingCache(tmp_path)).encode(["t"])

    assert encoder.calls == [["t"]]
    np.testing.assert_array_equal(np.load(stored), CountingEncoder().encode(["t"])[0])


def test_memory_holds_at_most_max_memory_items():
    cache = EmbeddingCache(None, max_memory_items=2)
    for key in "abc":
        cache.put(key, np.zeros(3))

    assert len(cache) == 2 and cache.get("a") is None and cache.get("c") is not None


def _write_same_keys(directory, seed):
    cache = EmbeddingCache(directory)
    for i in range(200):
        cache.put(f"{i:064x}", np.full(8, i, dtype=np.float32))


@pytest.mark.skipif("fork" not in multiprocessing.get_all_start_methods(), reason="needs fork")
def test_two_processes_writing_the_same_keys_leave_complete_files(tmp_path):
    context = multiprocessing.get_context("fork")
    workers = [context.Process(target=_write_same_keys, args=(tmp_path, s)) for s in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)

    assert [worker.exitcode for worker in workers] == [0, 0]
    reader = EmbeddingCache(tmp_path)
    for i in range(200):
        np.testing.assert_array_equal(reader.get(f"{i:064x}"), np.full(8, i, dtype=np.float32))
    assert not list(tmp_path.rglob(".tmp-*"))
