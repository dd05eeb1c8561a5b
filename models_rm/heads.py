"""Reward heads over frozen embeddings.

No torch import: heads take and return numpy arrays and are stored as safetensors files (numpy
API) whose header metadata holds a JSON description. No pickle anywhere.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

HEAD_FORMAT = "models_rm.BradleyTerryHead/1"


def _sigmoid(x: np.ndarray) -> np.ndarray:
    # Split by sign so that exp never overflows.
    out = np.empty_like(x, dtype=np.float64)
    positive = x >= 0
    out[positive] = 1.0 / (1.0 + np.exp(-x[positive]))
    exp_x = np.exp(x[~positive])
    out[~positive] = exp_x / (1.0 + exp_x)
    return out


class BradleyTerryHead:
    """A linear Bradley–Terry reward: ``r(x) = w · emb(x)``, no bias (it cancels in comparisons).

    ``P(a preferred over b) = sigmoid(r(a) - r(b))``. ``w`` is float32, shape ``(dim,)``.
    """

    def __init__(self, weights: np.ndarray, *, metadata: dict | None = None):
        weights = np.asarray(weights, dtype=np.float32)
        if weights.ndim != 1 or weights.size == 0:
            raise ValueError(f"weights must be a non-empty vector, got shape {weights.shape}")
        self.weights = weights
        self.metadata: dict = dict(metadata or {})

    @property
    def dim(self) -> int:
        return int(self.weights.shape[0])

    @classmethod
    def fit(
        cls,
        emb_chosen: np.ndarray,
        emb_rejected: np.ndarray,
        *,
        l2: float = 1.0,
        seed: int = 0,
        max_iter: int = 2000,
    ) -> BradleyTerryHead:
        """Fit ``w`` by L2-regularised logistic regression on embedding differences.

        Each pair appears in both orders (``chosen - rejected`` labelled 1, the reverse labelled
        0), so the fit has no position preference. ``l2`` is the penalty on ``||w||²/2`` relative
        to the summed log-loss (sklearn's ``C = 1 / l2``). Deterministic for given inputs and
        ``seed``.
        """
        from sklearn.linear_model import LogisticRegression

        emb_chosen = np.asarray(emb_chosen, dtype=np.float64)
        emb_rejected = np.asarray(emb_rejected, dtype=np.float64)
        if emb_chosen.shape != emb_rejected.shape or emb_chosen.ndim != 2:
            raise ValueError(
                "emb_chosen and emb_rejected must be 2-D arrays of one shape, got "
                f"{emb_chosen.shape} and {emb_rejected.shape}"
            )
        if len(emb_chosen) == 0:
            raise ValueError("cannot fit a head on zero pairs")
        if l2 <= 0:
            raise ValueError(f"l2 must be positive, got {l2}")
        difference = emb_chosen - emb_rejected
        features = np.concatenate([difference, -difference])
        labels = np.concatenate([np.ones(len(difference)), np.zeros(len(difference))])
        model = LogisticRegression(
            C=1.0 / l2, fit_intercept=False, max_iter=max_iter, random_state=seed, tol=1e-8
        )
        model.fit(features, labels)
        return cls(
            model.coef_[0],
            metadata={"l2": l2, "seed": seed, "train_pairs": len(difference)},
        )

    def score(self, emb: np.ndarray) -> np.ndarray:
        """Rewards of ``emb`` (shape ``(n, dim)``), as a float64 vector of length ``n``."""
        emb = np.asarray(emb)
        if emb.ndim != 2 or emb.shape[1] != self.dim:
            raise ValueError(f"expected embeddings of shape (n, {self.dim}), got {emb.shape}")
        return emb.astype(np.float64) @ self.weights.astype(np.float64)

    def prob_first_preferred(self, emb_a: np.ndarray, emb_b: np.ndarray) -> np.ndarray:
        """``sigmoid(r(a) - r(b))`` per row: the probability that ``a`` is preferred."""
        return _sigmoid(self.score(emb_a) - self.score(emb_b))

    def save(self, path: str | Path) -> None:
        """Write one ``.safetensors`` file: tensor ``"w"``, and the metadata as JSON in the
        header (key ``"head"``). Overwrites ``path``."""
        from safetensors.numpy import save_file

        header = {"format": HEAD_FORMAT, "dim": self.dim, **self.metadata}
        save_file(
            {"w": np.ascontiguousarray(self.weights)},
            str(path),
            metadata={"head": json.dumps(header, sort_keys=True)},
        )

    @classmethod
    def load(cls, path: str | Path) -> BradleyTerryHead:
        """Read a file written by ``save``; raises ``FileNotFoundError`` or ``ValueError``."""
        from safetensors import safe_open

        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"head file not found: {path}")
        with safe_open(str(path), framework="numpy") as handle:
            raw = (handle.metadata() or {}).get("head")
            names = set(handle.keys())  # safe_open is not a Mapping: no `in handle`
            if raw is None or "w" not in names:
                raise ValueError(
                    f"{path} is not a BradleyTerryHead file (no 'head' metadata or 'w')"
                )
            weights = handle.get_tensor("w")
        metadata = json.loads(raw)
        if metadata.pop("format", None) != HEAD_FORMAT:
            raise ValueError(f"{path}: unsupported head format, expected {HEAD_FORMAT}")
        dim = metadata.pop("dim", None)
        if dim != weights.shape[0]:
            raise ValueError(f"{path}: metadata says dim {dim}, weights have {weights.shape}")
        return cls(weights, metadata=metadata)
