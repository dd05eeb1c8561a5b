"""Frozen records: ``Instance``, ``LabelRecord``, ``LabelFile``, the joined ``PairwiseDataset``."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Instance:
    """One pairwise instance: a conversation ending with a user turn and two candidate replies."""

    id: str
    messages: tuple[Mapping[str, str], ...]
    response_a: str
    response_b: str
    model_a: str
    model_b: str
    metadata: Mapping[str, Any]
    line: int

    @property
    def prompt_key(self) -> str:
        """The whole conversation as one string: instances with the same key share a prompt
        (the simulation never puts them on both sides of a split)."""
        return json.dumps([[m["role"], m["content"]] for m in self.messages], ensure_ascii=False)

    @property
    def prompt_text(self) -> str:
        """The last user turn (what the replies answer)."""
        return self.messages[-1]["content"]


@dataclass(frozen=True)
class LabelRecord:
    """One labels row: every top-level field but ``id`` and ``llm`` as given (the human label
    columns among them, unchecked until one is chosen), and the checked LLM labels."""

    id: str
    fields: Mapping[str, Any]
    llm: Mapping[str, str | None]
    line: int


@dataclass(frozen=True)
class LabelFile:
    path: Path
    records: tuple[LabelRecord, ...]
    human_fields: tuple[str, ...]  # top-level string/null fields seen: candidate label columns
    llm_names: tuple[str, ...]  # every LLM annotator name seen, sorted


@dataclass(frozen=True)
class PairwiseDataset:
    """Instances joined with one human and one LLM label column, in instance-file order.

    ``human`` and ``llm`` are int8 label codes (``LABEL_A``/``LABEL_B``/``LABEL_TIE``/
    ``NO_LABEL``), shape ``(n,)``. ``llm_name`` may be empty when no LLM column was joined (an
    annotator such as the local judge fills it later with ``with_llm_labels``).
    """

    instances: tuple[Instance, ...]
    human: np.ndarray
    llm: np.ndarray
    human_name: str
    llm_name: str
    unlabelled_instances: int = 0  # instances of I.jsonl without a row in L.jsonl (dropped)
    sources: Mapping[str, str] = field(default_factory=dict)
    llm_prob_a: np.ndarray | None = None  # P(A preferred) by the LLM annotator, when it gives one
    # The jury: other LLM judges' verdict codes, int8 (n, len(jury_names)); None without one.
    jury_names: tuple[str, ...] = ()
    jury: np.ndarray | None = None
    skipped_empty_responses: int = 0  # instances dropped because a response text was empty

    def __len__(self) -> int:
        return len(self.instances)

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(instance.id for instance in self.instances)

    def with_llm_labels(
        self, *, name: str, labels: np.ndarray, prob_a: np.ndarray | None = None
    ) -> PairwiseDataset:
        """A copy whose LLM column is ``labels`` (int8 codes, one per instance) named ``name``,
        with the annotator's ``P(A preferred)`` (float64 (n,)) when it gives one."""
        labels = np.asarray(labels, dtype=np.int8)
        if labels.shape != (len(self),):
            raise ValueError(f"expected {len(self)} LLM labels, got shape {labels.shape}")
        if prob_a is not None:
            prob_a = np.asarray(prob_a, dtype=np.float64)
            if prob_a.shape != labels.shape:
                raise ValueError(f"expected {len(self)} probabilities, got shape {prob_a.shape}")
        return PairwiseDataset(
            instances=self.instances,
            human=self.human,
            llm=labels,
            human_name=self.human_name,
            llm_name=name,
            unlabelled_instances=self.unlabelled_instances,
            sources=dict(self.sources),
            llm_prob_a=prob_a,
            jury_names=self.jury_names,
            jury=self.jury,
            skipped_empty_responses=self.skipped_empty_responses,
        )
