"""The local reward-model judge (models_rm) as an LLM annotator: no network, CPU or GPU.

A reward model scores each response on its own, so its verdict cannot depend on the
order the responses are shown in; the position-bias check other backends need is moot.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from annotate.judgements import PairwiseJudgement
from annotate.services.annotations import LLMPairwiseLabel


@dataclass(frozen=True)
class PairToJudge:
    instance_id: int
    messages: list[dict]
    response_a: str
    response_b: str


@dataclass(frozen=True)
class StrengthThresholds:
    """P(A preferred) cut points for the 5-point scale; ``None``: that strength is never used.

    The defaults are the fixed cut points judges had before calibration; a judge artifact
    carries its own (``StrengthThresholds.of_judge``).
    """

    clearly: float | None = 0.75
    slightly: float | None = 0.55

    @classmethod
    def of_judge(cls, judge) -> StrengthThresholds:
        """The judge's own cut points (``judge.strength_thresholds``, a
        ``models_rm.judge.StrengthThresholds``), or the defaults for a judge without them."""
        own = getattr(judge, "strength_thresholds", None)
        if own is None:
            return cls()
        return cls(clearly=own.clearly_prob_a, slightly=own.slightly_prob_a)

    def preference_for(self, prob_a: float) -> int:
        # Exactly 0.5 has no side, whatever the cut points.
        if prob_a == 0.5:
            return 0
        if self.clearly is not None and prob_a >= self.clearly:
            return -2
        if self.slightly is not None and prob_a >= self.slightly:
            return -1
        if self.clearly is not None and prob_a <= 1 - self.clearly:
            return 2
        if self.slightly is not None and prob_a <= 1 - self.slightly:
            return 1
        return 0


@lru_cache(maxsize=2)
def load_local_judge(artifact: str, backbone: str, model: str, device: str, cache_dir: str):
    """One judge per worker process (loading the backbone takes seconds).

    ``model`` (a sequence-classification reward model: a local directory or a name in the local
    Hugging Face cache) wins over the frozen-encoder ``artifact``/``backbone`` pair.
    """
    if model:
        from models_rm.sequence_judge import load_sequence_model_judge

        return load_sequence_model_judge(model, device=device, cache_dir=cache_dir or None)

    from models_rm.judge import load_pairwise_judge

    return load_pairwise_judge(
        artifact_dir=artifact or None,
        backbone_path=backbone or None,
        device=device,
        cache_dir=cache_dir or None,
    )


def label_version(judge) -> str:
    """The version its labels carry: the judge's version, plus its cut points when they are
    not the old fixed defaults, so labels made under other cut points never mix with them
    (a re-run labels afresh instead of skipping them as done)."""
    thresholds = StrengthThresholds.of_judge(judge)
    if (thresholds.slightly, thresholds.clearly) == (0.55, 0.75):
        return str(judge.version)
    cut = lambda value: "none" if value is None else f"{value:.4f}"  # noqa: E731
    return f"{judge.version}+cut{cut(thresholds.slightly)}-{cut(thresholds.clearly)}"


def judge_pairs_with_local_judge(
    *,
    judge,
    pairs: Sequence[PairToJudge],
    thresholds: StrengthThresholds | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> list[LLMPairwiseLabel]:
    """One label per pair, in order. ``thresholds`` default to the judge's own cut points
    (``StrengthThresholds.of_judge``); each label's raw output records the ones used."""
    if thresholds is None:
        thresholds = StrengthThresholds.of_judge(judge)
    verdicts = judge.judge(
        [pair.messages for pair in pairs],
        [pair.response_a for pair in pairs],
        [pair.response_b for pair in pairs],
        progress=progress,
    )
    labels = []
    for pair, verdict in zip(pairs, verdicts, strict=True):
        preference = thresholds.preference_for(verdict.prob_a)
        labels.append(
            LLMPairwiseLabel(
                instance_id=pair.instance_id,
                model_name=judge.name,
                prompt_version=label_version(judge),
                judgement=PairwiseJudgement(
                    overall_preference=preference,
                    confidence=round(abs(2 * verdict.prob_a - 1), 4),
                    justification=(
                        f"Reward-model scores A={verdict.score_a:.3f}, B={verdict.score_b:.3f}; "
                        f"P(A preferred)={verdict.prob_a:.3f}."
                    ),
                ),
                raw_output={
                    "prob_a": verdict.prob_a,
                    "score_a": verdict.score_a,
                    "score_b": verdict.score_b,
                    "thresholds": {"clearly": thresholds.clearly, "slightly": thresholds.slightly},
                    # The full identity behind the short version (sequence-classification judges).
                    **({"model_id": judge.model_id} if hasattr(judge, "model_id") else {}),
                },
            )
        )
    return labels
