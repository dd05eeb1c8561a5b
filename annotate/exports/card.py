"""The dataset card (README.md) written beside every export."""

from __future__ import annotations

from annotate.exports.base import Exporter

AGGREGATION_POLICY = """\
One label per instance (``annotate.aggregation``): this platform's human labels decide when
there are any (a strict majority of their overall preferences; no strict majority = a split,
left out, never guessed); otherwise the imported labels by the same rule; otherwise the LLM
labels (a reliability-weighted jury label alone when routing made one, else a strict majority).
Ties are left out of the pairwise formats (TRL has no tie label). Every row's ``provenance``
says which source, models, pseudonymous annotators, pools and guidelines versions decided it."""


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
    lines += ["", "## Filters", "", f"{filters or 'none'}", "", "## Aggregation policy", "", AGGREGATION_POLICY, ""]
    lines += [
        "Annotator ids are pseudonyms (a keyed hash per campaign): stable within this campaign,",
        "not linkable to other campaigns. Routing decisions are not included in this export.",
        "",
    ]
    return "\n".join(lines)
