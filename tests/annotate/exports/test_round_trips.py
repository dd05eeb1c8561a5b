"""Import → export gives the same rows, for the formats the importer reads."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from annotate.services.imports import import_instances
from tests.annotate.exports.helpers import export, load
from tests.conftest import build_campaign

DATA = Path(__file__).resolve().parents[1] / "data"


@pytest.mark.parametrize("file_type", ["jsonl", "parquet"])
def test_hh_rlhf_round_trip(pm, researcher, tmp_path, file_type):
    campaign = build_campaign(pm=pm, researchers=[researcher], n_instances=0)
    source = (DATA / "hh_rlhf.jsonl").read_text()
    import_instances(campaign=campaign, data=source.encode(), file_format="hh-rlhf")

    rows = load(export(campaign, researcher, "hh_rlhf", file_type=file_type), tmp_path)

    expected = [json.loads(line) for line in source.splitlines() if line.strip()]
    assert sorted((r["chosen"], r["rejected"]) for r in rows) == sorted((e["chosen"], e["rejected"]) for e in expected)
    assert {r["provenance"]["aggregation"] for r in rows} == {"single_imported"}


def _instances(campaign) -> list[tuple]:
    return sorted(
        (
            i.external_id,
            i.messages,
            [(r.position, r.model_name, r.text) for r in i.responses.order_by("position")],
            i.metadata,
        )
        for i in campaign.instances.all()
    )


@pytest.mark.parametrize("file_type", ["jsonl", "parquet"])
def test_generic_round_trip_reimports_the_same_instances(pm, researcher, annotator, tmp_path, file_type):
    """generic file → import → ``generic`` export → import again: the same instances, whether
    the export was JSONL or Parquet (read back with ``datasets``, as a researcher would)."""
    from tests.annotate.exports.helpers import label_by_human

    first = build_campaign(pm=pm, researchers=[researcher], annotators=[annotator], n_instances=0, name="First")
    import_instances(campaign=first, data=(DATA / "generic.jsonl").read_bytes(), file_format="generic")
    labelled = label_by_human(first, annotator, 2)

    rows = list(load(export(first, researcher, "generic", file_type=file_type), tmp_path))

    assert len(rows) == first.instances.count()  # every instance, labelled or not
    by_id = {r["id"]: r for r in rows}
    assert by_id[labelled.external_id]["label"] == "B"
    assert by_id[labelled.external_id]["provenance"]["aggregation"] == "single_human"
    assert {r["label"] for r in rows if r["id"] != labelled.external_id} == {None}
    reimport = "\n".join(
        json.dumps({k: r[k] for k in ("id", "messages", "responses", "metadata")}) for r in rows
    ).encode()
    second = build_campaign(pm=pm, n_instances=0, name="Second")
    result = import_instances(campaign=second, data=reimport, file_format="generic")

    assert result.created == first.instances.count()
    assert _instances(second) == _instances(first)


def test_generic_import_reads_metadata_given_as_json_text_and_names_a_bad_one(pm):
    campaign = build_campaign(pm=pm, n_instances=0)
    row = {"id": "m", "prompt": "p", "responses": [{"text": "a"}, {"text": "b"}]}
    good = json.dumps({**row, "metadata": json.dumps({"topic": "x"})})
    bad = json.dumps({**row, "id": "n", "metadata": "{not json"})
    from annotate.services.imports import ImportRejected

    with pytest.raises(ImportRejected) as rejected:
        import_instances(campaign=campaign, data=f"{good}\n{bad}".encode(), file_format="generic")
    assert [(e.line, e.field) for e in rejected.value.errors] == [(2, "metadata")]
    assert campaign.instances.count() == 0
    import_instances(campaign=campaign, data=good.encode(), file_format="generic")
    assert campaign.instances.get().metadata == {"topic": "x"}
