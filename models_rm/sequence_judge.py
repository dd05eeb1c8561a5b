"""A sequence-classification reward model as a pairwise judge.

Same verdict API as ``models_rm.judge.PairwiseJudge`` (``name``, ``version``, ``judge(...)``
returning ``JudgeVerdict``), so the platform's LLM-annotation job can use a pretrained reward
model (e.g. Skywork-Reward-V2 on a GPU worker) or one fine-tuned by ``models_rm.finetune``
exactly as it uses the frozen MiniLM judge. Imports torch (through ``models_rm.scoring``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from models_rm.cache import EmbeddingCache
from models_rm.judge import DEFAULT_STRENGTH_THRESHOLDS, JudgeVerdict, judge_by_score_difference
from models_rm.scoring import SequenceRewardModel

ProgressCallback = Callable[[int, int], None]


class SequenceModelJudge:
    """Scores both replies with one reward model; ``prob_a = sigmoid(score_a - score_b)``.

    Symmetric by construction (each reply is scored on its own): swapping A and B gives
    ``1 - prob_a``. ``version`` is 16 hex characters of the SHA-256 of the model's id (weights
    fingerprint, precision, max length: see ``SequenceRewardModel.model_id``), short enough for
    any label store, so labels from a changed model never count as the same annotator.
    ``strength_thresholds`` are the fixed defaults: a pretrained reward model ships no held-out
    predictions to calibrate them on.
    """

    def __init__(self, *, model: SequenceRewardModel, name: str):
        self.model = model
        self.name = name
        self.model_id = model.model_id
        self.version = hashlib.sha256(model.model_id.encode()).hexdigest()[:16]
        self.strength_thresholds = DEFAULT_STRENGTH_THRESHOLDS

    def judge(
        self,
        prompts: Sequence[Sequence[Mapping[str, str]]],
        responses_a: Sequence[str],
        responses_b: Sequence[str],
        *,
        progress: ProgressCallback | None = None,
    ) -> list[JudgeVerdict]:
        """One verdict per pair, in order. ``progress(done, total)`` counts pairs."""
        return judge_by_score_difference(
            score=self.model.score,
            prompts=prompts,
            responses_a=responses_a,
            responses_b=responses_b,
            progress=progress,
        )


def load_sequence_model_judge(
    name_or_path: str | Path,
    *,
    device: str = "auto",
    cache_dir: str | Path | None = None,
    max_length: int = 2048,
    batch_size: int = 16,
) -> SequenceModelJudge:
    """Load a local sequence-classification reward model (a directory, or a name already in
    the local Hugging Face cache; nothing is downloaded) as a judge named ``rm/<directory>``.

    ``cache_dir`` adds a persistent score cache keyed by the model's fingerprint and the
    rendered text. Raises ``FileNotFoundError`` naming a model that is not there.
    """
    cache = EmbeddingCache(Path(cache_dir)) if cache_dir else None
    model = SequenceRewardModel.load(
        name_or_path, device=device, max_length=max_length, batch_size=batch_size, cache=cache
    )
    label = str(name_or_path).rstrip("/").split("/")[-1] or str(name_or_path)
    return SequenceModelJudge(model=model, name=f"rm/{label}")
