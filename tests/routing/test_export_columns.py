"""Exports carry each instance's decision in its campaign's latest routing run."""

from __future__ import annotations

import pytest

from routing.models import RoutingDecision, RoutingRun
from tests.annotate.exports.helpers import export, labelled_campaign, load


@pytest.fixture(autouse=True)
def export_dir(settings, tmp_path):
    settings.EXPORT_DIR = tmp_path / "exports"


def routed(campaign, decisions: dict, *, strategy="ppm"):
    run = RoutingRun.objects.create(campaign=campaign, strategy=strategy, budget=1, main_annotator="local-rm/test")
    RoutingDecision.objects.bulk_create(
        RoutingDecision(
            run=run, instance=instance, route=route, rank=i + 1, expected_gain=gain, p_llm_wrong=0.5, p_human_decisive=0.5
        )
        for i, (instance, (route, gain)) in enumerate(decisions.items())
    )
    return run


@pytest.mark.parametrize("file_type", ["jsonl", "parquet"])
def test_rows_carry_the_latest_runs_route_and_expected_gain(campaign, annotator, researcher, tmp_path, file_type):
    by_human, _, by_llm = labelled_campaign(campaign, annotator)
    routed(campaign, {by_human: ("llm", 0.9)})
    latest = routed(campaign, {by_human: ("human", 0.3), by_llm[0]: ("llm", 0.01)})

    rows = {r["id"]: r["provenance"] for r in load(export(campaign, researcher, "dpo", file_type=file_type), tmp_path)}

    assert (rows[by_human.external_id]["route"], rows[by_human.external_id]["expected_gain"]) == ("human", 0.3)
    assert rows[by_human.external_id]["routing_run"] == latest.pk
    assert rows[by_llm[0].external_id]["route"] == "llm"
    assert (rows[by_llm[1].external_id]["route"], rows[by_llm[1].external_id]["expected_gain"]) == (None, None)


def test_an_unrouted_campaign_has_null_routing_columns(campaign, annotator, researcher, tmp_path):
    labelled_campaign(campaign, annotator)

    rows = load(export(campaign, researcher, "raw"), tmp_path)

    assert {(r["route"], r["expected_gain"], r["routing_run"]) for r in rows} == {(None, None, None)}
