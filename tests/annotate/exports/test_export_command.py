from __future__ import annotations

import json
from io import StringIO

from django.core.management import call_command

from tests.annotate.exports.helpers import labelled_campaign


def test_export_dataset_runs_the_job_and_prints_files_and_counts(campaign, annotator, export_dir):
    labelled_campaign(campaign, annotator)
    out = StringIO()

    call_command("export_dataset", campaign=campaign.slug, format_name="kto", file_type="parquet", stdout=out)

    *paths, result = out.getvalue().splitlines()
    assert json.loads(result)["rows"] == 6
    assert any(p.endswith(".parquet") for p in paths) and any(p.endswith("README.md") for p in paths)
