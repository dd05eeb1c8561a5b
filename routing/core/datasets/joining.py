"""Join labels to instances by id, after checking the chosen label column names."""

from __future__ import annotations

import difflib
from collections.abc import Collection, Sequence
from pathlib import Path

import numpy as np

from routing.core.datasets.codes import LABEL_CODES, NO_LABEL
from routing.core.datasets.errors import DatasetError, LabelNameError, RowError
from routing.core.datasets.model import Instance, LabelFile, PairwiseDataset
from routing.core.datasets.reading import _label_value, load_instances, load_labels


def _close_matches(name: str, options: Sequence[str]) -> str:
    matches = difflib.get_close_matches(name, options, n=5, cutoff=0.5)
    if not matches:
        lowered = name.lower()
        matches = [option for option in options if lowered in option.lower()][:5]
    return f"; close matches: {', '.join(matches)}" if matches else ""


def check_label_name(*, labels: LabelFile, name: str, kind: str) -> None:
    """Raise ``LabelNameError`` when ``name`` is not a ``kind`` ("human" or "llm") column of
    ``labels``, listing close matches and how many names the file has; for a human column, raise
    ``DatasetError`` listing every row whose value is not ``"A"``, ``"B"``, ``"tie"`` or null
    (rows without the field count as unlabelled)."""
    options = labels.human_fields if kind == "human" else labels.llm_names
    if name in options:
        if kind == "human":
            errors: list[RowError] = []
            for record in labels.records:
                if name in record.fields:
                    _label_value(record.fields[name], record.line, name, errors)
            if errors:
                raise DatasetError(labels.path, errors)
        return
    flag = "--human" if kind == "human" else "--llm"
    what = "human label field" if kind == "human" else "LLM annotator"
    raise LabelNameError(
        f"{labels.path}: unknown {what} {name!r} ({flag}){_close_matches(name, options)}; "
        f"the file has {len(options)}: {', '.join(options[:8])}{' …' if len(options) > 8 else ''}"
    )


def join_dataset(
    *,
    instances: Sequence[Instance],
    labels: LabelFile,
    human: str = "human",
    llm: str | None,
    instances_path: str | Path = "",
    jury: Sequence[str] | str | None = None,
    skipped_ids: Collection[str] = (),
) -> PairwiseDataset:
    """Join labels to instances by id, keeping instance-file order.

    ``human`` names the top-level human label field, ``llm`` a key of the ``llm`` objects
    (``None``: no LLM column yet, all ``NO_LABEL``). Instances without a labels row are dropped
    and counted; a labels row whose id is not an instance raises ``DatasetError``; an unknown
    ``human`` or ``llm`` name raises ``LabelNameError`` listing close matches.
    ``jury`` names other LLM judges of the labels file whose verdicts join as the jury
    (``"all"``: every judge but ``llm``); a jury name equal to ``llm`` is refused.
    ``skipped_ids``: instances the reader left out (an empty response): their label rows are
    ignored, and the dataset counts them.
    """
    check_label_name(labels=labels, name=human, kind="human")
    if llm is not None:
        check_label_name(labels=labels, name=llm, kind="llm")
    skipped = set(skipped_ids)
    by_id = {record.id: record for record in labels.records if record.id not in skipped}
    known = {instance.id for instance in instances}
    orphans = [
        RowError(
            record.line,
            "id",
            f"id {record.id!r} has no instance in {instances_path or 'the instances file'}",
        )
        for record in labels.records
        if record.id not in known and record.id not in skipped
    ]
    if orphans:
        raise DatasetError(labels.path, orphans)
    kept = [instance for instance in instances if instance.id in by_id]
    human_codes = np.array(
        [LABEL_CODES[by_id[i.id].fields.get(human)] for i in kept], dtype=np.int8
    )
    llm_codes = np.array(
        [LABEL_CODES[by_id[i.id].llm.get(llm)] if llm is not None else NO_LABEL for i in kept],
        dtype=np.int8,
    )
    jury_names = _jury_names(labels=labels, jury=jury, llm=llm)
    jury_codes = None
    if jury_names:
        jury_codes = np.array(
            [[LABEL_CODES[by_id[i.id].llm.get(name)] for name in jury_names] for i in kept],
            dtype=np.int8,
        ).reshape(len(kept), len(jury_names))
    return PairwiseDataset(
        jury_names=jury_names,
        jury=jury_codes,
        skipped_empty_responses=len(skipped),
        instances=tuple(kept),
        human=human_codes,
        llm=llm_codes,
        human_name=human,
        llm_name=llm or "",
        unlabelled_instances=len(instances) - len(kept),
        sources={"instances": str(instances_path), "labels": str(labels.path)},
    )


def _jury_names(
    *, labels: LabelFile, jury: Sequence[str] | str | None, llm: str | None
) -> tuple[str, ...]:
    if jury is None:
        return ()
    if isinstance(jury, str):
        if jury == "all":
            return tuple(name for name in labels.llm_names if name != llm)
        jury = [part.strip() for part in jury.split(",") if part.strip()]
    names = tuple(dict.fromkeys(jury))
    if llm is not None and llm in names:
        raise LabelNameError(
            f"{labels.path}: {llm!r} is the main judge (--llm); leave it out of --jury"
        )
    for name in names:
        if name not in labels.llm_names:
            raise LabelNameError(
                f"{labels.path}: unknown LLM annotator {name!r} (--jury)"
                f"{_close_matches(name, labels.llm_names)}"
            )
    return names


def load_dataset(
    *, instances_path: str | Path, labels_path: str | Path, human: str = "human", llm: str | None
) -> PairwiseDataset:
    """``load_instances`` + ``load_labels`` + ``join_dataset`` in one call."""
    instances = load_instances(instances_path)
    labels = load_labels(labels_path)
    return join_dataset(
        instances=instances, labels=labels, human=human, llm=llm, instances_path=instances_path
    )
