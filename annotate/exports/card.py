"""The dataset card (README.md) written beside every export."""

from __future__ import annotations

from annotate.exports.base import Exporter
from annotate.models import AggregationPolicy

AGGREGATION_POLICY = """\
One label per instance (``annotate.aggregation``): this platform's human labels decide when
there are any (a strict majority of their overall preferences; no strict majority = a split,
left out, never guessed); otherwise the imported labels by the same rule; otherwise the LLM
labels (a reliability-weighted jury label alone when routing made one, else a strict majority).
Ties are left out of the pairwise formats (TRL has no tie label). Every row's ``provenance``
says which source, models, pseudonymous annotators, pools and guidelines versions decided it."""


POLICY_DETAILS = {
    AggregationPolicy.STRICT_MAJORITY: "the rule below, as is.",
    AggregationPolicy.MULTIPREF_MAJORITY: (
        "the direction (A / B / tie) with the most votes of the deciding source wins (\"slightly\" "
        "counts as \"clearly\"); two directions with the top count are a split, left out."
    ),
    AggregationPolicy.HELPSTEER2_PREFERENCE: (
        "the mean of the three closest preference strengths of the deciding source; left out "
        "when they span more than 2 points (`strength_spread_too_wide`) or equally close "
        "triples disagree (`strength_ambiguous`)."
    ),
    AggregationPolicy.HELPSTEER2_RATINGS: (
        "pairwise labels by the rule below; per-response scores are the rounded mean of the "
        "three most agreeing ratings (the `helpsteer2` format)."
    ),
    AggregationPolicy.DAWID_SKENE: (
        "a Dawid–Skene fit (crowd-kit) over every human, imported and LLM vote of the campaign, "
        "each annotator weighed by its estimated confusion matrix; equally probable classes "
        "are a split (`dawid_skene_tie`), left out."
    ),
}


def policy_line(policy: str) -> str:
    label = AggregationPolicy(policy).label
    return (
        f"This campaign's policy: `{policy}` ({label}): {POLICY_DETAILS[AggregationPolicy(policy)]} "
        "A project manager's adjudication, where there is one, decides the label instead "
        "(`adjudicated`); the annotators' own labels are kept as they were."
    )


def render_card(*, exporter: Exporter, file_type: str, files: dict[str, int], options: dict) -> str:
    campaign, summary = exporter.campaign, exporter.summary
    mean = summary.mean_agreement
    lines = [
        f"# {campaign.name}: {exporter.title} export",
        "",
        f"- Campaign: `{campaign.slug}`",
        f"- Format: `{exporter.format_name}` ({file_type})",
        f"- License: {options.get('license') or 'unspecified (set one before publishing)'}",
        f"- Instances read: {summary.instances_seen}",
        f"- Rows written: {summary.written}",
        "",
        "## Files",
        "",
        *(f"- `{name}`: {rows} rows" for name, rows in files.items()),
    ]
    if options.get("split"):
        lines += [
            "",
            f"Split by prompt: a prompt's SHA-256 decides its split (validation fraction "
            f"{options.get('validation_fraction')}), so one prompt is never in both.",
        ]
    lines += ["", "## Left out", ""]
    lines += [f"- {reason}: {count}" for reason, count in sorted(summary.skipped.items())] or ["- nothing"]
    if summary.flagged:
        lines += ["", "## Flagged (written empty: the aggregation policy would not settle them)", ""]
        lines += [f"- {what}: {count}" for what, count in sorted(summary.flagged.items())]
    lines += ["", "## Label sources", ""]
    lines += [f"- {source}: {count}" for source, count in sorted(summary.by_label_source.items())] or ["- none"]
    lines += ["", "Aggregation decisions:", ""]
    lines += [f"- {decision}: {count}" for decision, count in sorted(summary.by_provenance.items())] or ["- none"]
    lines += [
        "",
        "## Agreement",
        "",
        f"Mean share of the deciding votes that agree with the label: "
        f"{'n/a' if mean is None else f'{mean:.3f}'} (over {summary.agreement_n} labels).",
        "",
        "## Guidelines versions",
        "",
    ]
    lines += [
        f"- v{version}: {count} labels" for version, count in sorted(summary.guidelines_versions.items())
    ] or ["- none recorded"]
    filters = {k: options[k] for k in ("sources", "pools", "min_agreement", "created_from", "created_to") if options.get(k)}
    lines += ["", "## Filters", "", f"{filters or 'none'}", "", "## Aggregation policy", ""]
    lines += [policy_line(campaign.aggregation_policy), "", AGGREGATION_POLICY, ""]
    lines += [
        "Annotator ids are pseudonyms (a keyed hash per campaign): stable within this campaign,",
        "not linkable to other campaigns. Routing decisions are not included in this export.",
        "",
    ]
    return "\n".join(lines)
