"""The jury job: the label each LLM-routed item keeps (the jury's or, where the seed chose it,
the main judge's own), stored as the ``jury`` model's label with a revision on each re-route."""

from __future__ import annotations

import numpy as np
from django.utils import timezone

from annotate.aggregation import JURY_MODEL_NAME
from annotate.judgements import PairwiseJudgement
from annotate.models import (
    Annotation,
    AnnotationSource,
    JobRun,
)
from annotate.services.annotations import LLMPairwiseLabel, record_llm_annotations
from annotate.services.jobs import JobProgress, run_claimed_job
from routing.campaign_routing.state import votes_for
from routing.core.datasets import LABEL_A, LABEL_B
from routing.core.jury import (
    EVEN_EVIDENCE,
    JURY_VERSION,
    KEPT_JURY,
    KEPT_MAIN,
    JudgeReliability,
    jury_posterior,
)
from routing.models import Route, RoutingRun


def run_jury_label_job(*, job_id: int) -> None:
    run_claimed_job(job_id=job_id, work=_label_with_jury)


def _label_with_jury(job: JobRun, progress: JobProgress) -> dict:
    """The label each LLM-routed item of the run keeps: the reliability-weighted jury label (its
    judges' weights come from the run's fit), or, where the run's seed chose the main judge
    (``model_details["kept_label"]``), the main judge's own label wherever it is decisive. Stored
    as the ``jury`` model's label either way (prompt version ``jury-v1`` or ``jury-v1/main``, the
    raw output says which and why); an item an earlier run labelled gets a new revision."""
    run = RoutingRun.objects.get(pk=job.params["routing_run"])
    campaign = run.campaign
    names = [run.main_annotator, *run.jury]
    identities = {name: tuple(run.annotator_identities[name]) for name in names}
    reliability_rows = run.model_details["reliability"]
    weights = np.array([reliability_rows[name]["weight"] for name in names], dtype=np.float64)
    weighting = "reliability"
    if not any(reliability_rows[name]["seen"] for name in names):
        # No judge has been measured against a human label yet: every judge counts the same
        # (a majority vote; one judge alone keeps its own direction) until humans have labelled.
        weights = np.ones(len(names))
        weighting = "equal (no human label to measure the judges on yet)"
    reliability = JudgeReliability(
        names=tuple(names),
        seen=np.array([reliability_rows[name]["seen"] for name in names]),
        matched=np.array([reliability_rows[name]["matched"] for name in names]),
        accuracy=np.array([reliability_rows[name]["accuracy"] for name in names]),
        weight=weights,
        prior=1.0,
    )
    decisions = list(run.decisions.filter(route=Route.LLM).values_list("instance_id", flat=True))
    state_votes = votes_for(campaign=campaign, instance_ids=decisions, identities=identities)
    choice = run.model_details.get("kept_label") or {"source": KEPT_JURY}
    main_labels = {}
    if choice["source"] == KEPT_MAIN:
        model, version = identities[names[0]]
        main_labels = {
            instance_id: (preference, confidence)
            for instance_id, preference, confidence in Annotation.objects.filter(
                campaign=campaign,
                source=AnnotationSource.LLM,
                model_name=model,
                prompt_version=version,
                instance_id__in=decisions,
            ).values_list("instance_id", "overall_preference", "confidence")
        }
    total = len(decisions)
    progress(0, total, f"Jury labels for {total} LLM-routed items")
    existing = {
        a.instance_id: a
        for a in Annotation.objects.filter(
            campaign=campaign,
            source=AnnotationSource.LLM,
            model_name=JURY_MODEL_NAME,
            instance_id__in=decisions,
        )
    }
    labels, updated, ties = [], 0, 0
    for k, instance_id in enumerate(decisions):
        votes = state_votes[k : k + 1]
        prob_a = float(jury_posterior(votes=votes, reliability=reliability)[0])
        preference = _preference_from(prob_a)
        confidence = round(abs(2 * prob_a - 1), 4)
        version = JURY_VERSION
        justification = f"Reliability-weighted jury of {len(names)}: P(A preferred) = {prob_a:.3f}."
        raw = {
            "backend": "jury",
            "routing_run": run.pk,
            "kept": KEPT_JURY,
            "prob_a": round(prob_a, 6),
            "votes": {name: int(votes[0, j]) for j, name in enumerate(names)},
            "weights": {name: round(float(weights[j]), 6) for j, name in enumerate(names)},
            "weighting": weighting,
        }
        if instance_id in main_labels and votes[0, 0] in (LABEL_A, LABEL_B):
            preference, main_confidence = main_labels[instance_id]
            confidence = main_confidence
            version = f"{JURY_VERSION}/main"
            justification = (
                f"The main judge {names[0]}'s own label, kept because on the seed it matched "
                f"{_share(choice['main_agreement'])} of the human labels and the jury "
                f"{_share(choice['jury_agreement'])}."
            )
            raw.update({"kept": KEPT_MAIN, "kept_from": names[0]})
        raw["justification"] = justification  # also on a revision, which rewrites raw_output
        ties += preference == 0
        current = existing.get(instance_id)
        if current is None:
            labels.append(
                LLMPairwiseLabel(
                    instance_id=instance_id,
                    model_name=JURY_MODEL_NAME,
                    prompt_version=version,
                    judgement=PairwiseJudgement(
                        overall_preference=preference,
                        confidence=confidence,
                        justification=justification,
                    ),
                    raw_output=raw,
                )
            )
        elif (
            current.overall_preference != preference
            or current.raw_output.get("routing_run") != run.pk
            or current.prompt_version != version
        ):
            # A re-route refits the weights: the jury label is revised, and the revision counted.
            Annotation.objects.filter(pk=current.pk).update(
                overall_preference=preference,
                prompt_version=version,
                confidence=confidence,
                raw_output={
                    **raw,
                    "previous": {
                        "routing_run": current.raw_output.get("routing_run"),
                        "overall_preference": current.overall_preference,
                    },
                },
                revision=current.revision + 1,
                updated_at=timezone.now(),
                job=job,
            )
            updated += 1
        progress(k + 1, total)
    created = record_llm_annotations(campaign=campaign, labels=labels, job=job)
    return {
        "routing_run": run.pk,
        "created": created,
        "revised": updated,
        "ties": ties,
        "labelled": total,
        "weighting": weighting,
    }


def _share(value: float | None) -> str:
    return "no" if value is None else f"{value:.0%}"


def _preference_from(prob_a: float) -> int:
    """The 5-point strength of a jury label: "clearly" when the posterior is at least 0.9 for
    one side, "slightly" above 0.5, a tie at 0.5 (no evidence either way, or evidence that
    cancels out up to float error, as ``jury_labels`` has it)."""
    if abs(prob_a - 0.5) <= EVEN_EVIDENCE:
        return 0
    if prob_a >= 0.9:
        return -2
    if prob_a > 0.5:
        return -1
    if prob_a <= 0.1:
        return 2
    return 1
