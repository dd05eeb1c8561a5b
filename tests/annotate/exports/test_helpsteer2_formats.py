"""HelpSteer2 exports: one row per response; an imported HelpSteer2 file comes back as it was."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.conf import settings

from annotate.exports.helpsteer2 import ATTRIBUTES, released_score
from annotate.selectors import pseudonym_of
from annotate.services.annotations import submit_annotation
from annotate.services.answers import AnswerInput
from annotate.services.assignments import claim_next_assignment
from annotate.services.imports import import_instances
from tests.annotate.exports.helpers import export, load
from tests.conftest import build_campaign

DATA = Path(__file__).resolve().parents[1] / "data" / "helpsteer2.jsonl"


@pytest.fixture
def rating_campaign(pm, annotator, second_annotator, researcher):
    return build_campaign(
        pm=pm, annotators=[annotator, second_annotator], researchers=[researcher], n_instances=0,
        template="helpsteer2_rating", overlap=2,
    )


@pytest.mark.parametrize("file_type", ["jsonl", "parquet"])
def test_an_imported_helpsteer2_file_exports_the_same_rows(rating_campaign, researcher, tmp_path, file_type):
    import_instances(campaign=rating_campaign, data=DATA.read_bytes(), file_format="helpsteer2")
    source = [json.loads(line) for line in DATA.read_text().splitlines() if line.strip()]

    job = export(rating_campaign, researcher, "helpsteer2", file_type=file_type)
    rows = list(load(job, tmp_path))

    columns = ["prompt", "response", *ATTRIBUTES]
    assert [{c: row[c] for c in columns} for row in rows] == [{c: row.get(c) for c in columns} for row in source]
    assert {row["provenance"]["aggregation"] for row in rows} == {"single_imported"}
    assert rows[0]["provenance"]["annotators"] == ["imported:helpsteer2-release"]


def rate(campaign, person, scores_a: dict, scores_b: dict):
    assignment = claim_next_assignment(campaign=campaign, annotator=person)
    answers = [
        AnswerInput(question=name, slot=slot, codes=(str(value),))
        for slot, scores in ((0, scores_a), (1, scores_b))
        for name, value in scores.items()
    ]
    submit_annotation(assignment_id=assignment.pk, annotator=person, answers=answers)
    return assignment.instance


def test_human_ratings_are_averaged_and_kept_per_annotator(rating_campaign, annotator, second_annotator, researcher, tmp_path):
    import_instances(campaign=rating_campaign, data=b'{"prompt": "Hi?", "response": "Hello."}\n{"prompt": "Hi?", "response": "Go away."}', file_format="helpsteer2")
    full = dict.fromkeys(ATTRIBUTES, 2)
    rate(rating_campaign, annotator, full | {"helpfulness": 4}, full | {"helpfulness": 0})
    rate(rating_campaign, second_annotator, full | {"helpfulness": 3}, full | {"helpfulness": 1})
    first, second = (pseudonym_of(campaign_id=rating_campaign.pk, user_id=u.pk) for u in (annotator, second_annotator))

    means = load(export(rating_campaign, researcher, "helpsteer2"), tmp_path)
    lists = load(export(rating_campaign, researcher, "helpsteer2_disagreements", file_type="parquet"), tmp_path)

    assert [(r["response"], r["helpfulness"], r["verbosity"]) for r in means] == [("Hello.", 4, 2), ("Go away.", 1, 2)]
    assert means[0]["provenance"]["aggregation"] == "human_mean"
    assert [r["helpfulness"] for r in lists] == [[4, 3], [0, 1]]
    assert lists[0]["annotators"] == [first, second]


@pytest.mark.parametrize(
    ("scores", "released"),
    [([3], 3), ([2, 3], 3), ([1, 2, 2], 2), ([0, 3, 3, 4, 4], None), ([0, 4, 4, 1, 1], 1), ([], None)],
)
def test_released_score_is_the_rounded_mean_of_the_three_most_agreeing(scores, released):
    # [0, 3, 3, 4, 4]: (3, 3, 4) and (3, 4, 4) agree equally but round to 3 and 4: no score.
    assert released_score(scores) == released


def test_the_helpsteer2_export_scores_by_the_helpsteer2_ratings_policy(pm, researcher, tmp_path):
    from annotate.aggregation_policies.helpsteer2_ratings import aggregate_ratings
    from annotate.models import AggregationPolicy
    from tests.conftest import make_user

    raters = [make_user(f"rater-{i}") for i in range(4)]
    campaign = build_campaign(
        pm=pm, annotators=raters, researchers=[researcher], n_instances=0, template="helpsteer2_rating", overlap=4
    )
    campaign.aggregation_policy = AggregationPolicy.HELPSTEER2_RATINGS
    campaign.save(update_fields=["aggregation_policy"])
    import_instances(campaign=campaign, data=b'{"prompt": "Hi?", "response": "Hello."}\n{"prompt": "Hi?", "response": "Go away."}', file_format="helpsteer2")
    # Helpfulness of A: (1, 2, 3) and (2, 3, 4) agree equally with means 2 and 3, a draw the
    # policy flags (label order would have picked 2). B: (0, 0, 1) agrees best, mean 0.
    helpful_a, helpful_b = [3, 1, 2, 4], [0, 4, 0, 1]
    full = dict.fromkeys(ATTRIBUTES, 2)
    for person, a, b in zip(raters, helpful_a, helpful_b, strict=True):
        rate(campaign, person, full | {"helpfulness": a}, full | {"helpfulness": b})

    job = export(campaign, researcher, "helpsteer2")
    rows = load(job, tmp_path)

    assert [r["helpfulness"] for r in rows] == [aggregate_ratings(helpful_a).score, aggregate_ratings(helpful_b).score]
    assert [r["helpfulness"] for r in rows] == [None, 0]
    assert [r["verbosity"] for r in rows] == [2, 2]
    assert job.result["flagged"] == {"helpfulness_ambiguous": 1}
    card = job.export_files.get(name="README.md")
    assert "- helpfulness_ambiguous: 1" in (Path(settings.EXPORT_DIR) / card.path).read_text()
