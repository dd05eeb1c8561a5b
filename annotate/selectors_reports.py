"""Reading a campaign's report (agreement per question and the aggregate under its policy):
computed inside the request for a small campaign, otherwise read from the latest report
JobRun (``annotate.services.reports``) so that no page waits on a big computation."""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, replace
from datetime import datetime

from django.conf import settings
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from annotate.agreement import AgreementValue, QuestionAgreement
from annotate.models import AggregationPolicy, Annotation, Campaign, JobKind, JobRun, JobStatus

# Provenances of an aggregate that give no label (a tie or split the policy would not break).
NO_LABEL_PROVENANCES = (
    "unlabelled", "human_split", "imported_split", "llm_split",
    "strength_spread_too_wide", "strength_ambiguous", "dawid_skene_tie",
)


@dataclass(frozen=True)
class AggregateSummary:
    """How the campaign's instances came out under its aggregation policy."""

    policy: str
    instances: int
    labelled: int  # instances with a final label
    by_provenance: tuple[tuple[str, int], ...]  # most common first


@dataclass(frozen=True)
class CampaignReport:
    agreement: list[QuestionAgreement] | None  # None: not computed yet
    aggregate: AggregateSummary | None
    regular_items: int | None  # the items the agreement covers (None: a report stored before it was counted)
    computed_at: datetime | None
    live: bool  # computed in this request (a small campaign)
    latest_job: JobRun | None  # the latest report job, finished or not

    @property
    def running(self) -> bool:
        return self.latest_job is not None and not self.latest_job.is_finished


def compute_campaign_report(*, campaign: Campaign, with_aggregate: bool = True) -> dict:
    """The report as plain JSON (what a report job stores): ``{"agreement": [...],
    "aggregate": {...} (None without ``with_aggregate``), "regular_items": n (the items the
    agreement covers: check items are left out), "computed_at": iso}``."""
    from annotate.selectors import agreement_report, campaign_labels, count_regular_items
    from annotate.selectors_data import instance_tags_of

    aggregate = None
    if with_aggregate:
        labels = campaign_labels(campaign=campaign)
        counts = Counter(str(label.provenance) for label in labels.values())
        aggregate = asdict(
            AggregateSummary(
                policy=campaign.aggregation_policy,
                instances=len(labels),
                labelled=sum(n for provenance, n in counts.items() if provenance not in NO_LABEL_PROVENANCES),
                by_provenance=tuple(counts.most_common()),
            )
        )
    agreement = agreement_report(campaign=campaign, tags=instance_tags_of(campaign=campaign))
    return {
        "agreement": [asdict(q) for q in agreement],
        "aggregate": aggregate,
        "regular_items": count_regular_items(campaign=campaign),
        "computed_at": timezone.now().isoformat(),
    }


def _agreement_from_json(rows: list[dict]) -> list[QuestionAgreement]:
    def value(d: dict) -> AgreementValue:
        return AgreementValue(**d)

    return [
        QuestionAgreement(
            question=row["question"],
            ordinal=row["ordinal"],
            human_alpha=value(row["human_alpha"]),
            human_kappa=value(row["human_kappa"]),
            llm_kappa=tuple((model, value(v)) for model, v in row["llm_kappa"]),
            by_tag=tuple((tag, value(v)) for tag, v in row["by_tag"]),
        )
        for row in rows
    ]


def _aggregate_from_json(data: dict | None) -> AggregateSummary | None:
    if data is None:
        return None
    return AggregateSummary(**{**data, "by_provenance": tuple(tuple(pair) for pair in data["by_provenance"])})


def _report_from_json(data: dict, *, live: bool, latest_job: JobRun | None) -> CampaignReport:
    return CampaignReport(
        agreement=_agreement_from_json(data["agreement"]),
        aggregate=_aggregate_from_json(data["aggregate"]),
        regular_items=data.get("regular_items"),
        computed_at=parse_datetime(data["computed_at"]),
        live=live,
        latest_job=latest_job,
    )


def latest_report_job(*, campaign: Campaign) -> JobRun | None:
    return JobRun.objects.filter(campaign=campaign, kind=JobKind.REPORT).order_by("-created_at", "-id").first()


def report_is_computed_live(*, campaign: Campaign) -> bool:
    """Whether the campaign is small enough (at most ``REPORT_INLINE_MAX_LABELS`` labels) for
    its report to be computed inside the request; counted up to that cap only."""
    cap = settings.REPORT_INLINE_MAX_LABELS
    return Annotation.objects.filter(campaign=campaign).values("pk")[: cap + 1].count() <= cap


def latest_succeeded_report_job(*, campaign: Campaign, latest: JobRun | None) -> JobRun | None:
    if latest is not None and latest.status == JobStatus.SUCCEEDED:
        return latest
    return (
        JobRun.objects.filter(campaign=campaign, kind=JobKind.REPORT, status=JobStatus.SUCCEEDED)
        .order_by("-finished_at", "-id")
        .first()
    )


def get_campaign_report(*, campaign: Campaign) -> CampaignReport:
    """The report the agreement page and the dashboard show: computed now for a small
    campaign; otherwise the result of the latest report job that succeeded (``agreement``
    None when none has run yet). Under Dawid–Skene, which fits every label of the campaign
    at once, the aggregate always comes from a report job (None before one has run)."""
    latest = latest_report_job(campaign=campaign)
    if report_is_computed_live(campaign=campaign):
        with_aggregate = campaign.aggregation_policy != AggregationPolicy.DAWID_SKENE
        report = _report_from_json(
            compute_campaign_report(campaign=campaign, with_aggregate=with_aggregate), live=True, latest_job=latest
        )
        if with_aggregate:
            return report
        done = latest_succeeded_report_job(campaign=campaign, latest=latest)
        return replace(report, aggregate=_aggregate_from_json(done.result["aggregate"]) if done else None)
    done = latest_succeeded_report_job(campaign=campaign, latest=latest)
    if done is None:
        return CampaignReport(agreement=None, aggregate=None, regular_items=None, computed_at=None, live=False, latest_job=latest)
    return _report_from_json(done.result, live=False, latest_job=latest)
