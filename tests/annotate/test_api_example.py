"""The README's API example, run as a script against a live server."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest
from django.contrib.auth import get_user_model

from annotate.models import Instance
from tests.conftest import REPO_DIR, build_campaign, pairwise_rows


def readme_example() -> str:
    readme = (REPO_DIR / "README.md").read_text()
    return re.search(r"<!-- api-example -->\n```python\n(.*?)```", readme, re.S).group(1)


def run_example(*, live_server, campaign, path, export: str = "", out_dir=None) -> subprocess.CompletedProcess:
    env = {
        "PREFROUTE_EXPORT": export,
        "PREFROUTE_RESEARCHER": "reader",
        "PREFROUTE_RESEARCHER_PASSWORD": "reader-pass",
        "PREFROUTE_OUT_DIR": str(out_dir or "."),
        **os.environ,
        "PREFROUTE_URL": live_server.url,
        "PREFROUTE_CAMPAIGN": campaign.slug,
        "PREFROUTE_FILE": str(path),
        "PREFROUTE_USER": "scripter",
        "PREFROUTE_PASSWORD": "scripter-pass",
    }
    return subprocess.run(
        [sys.executable, "-c", readme_example()], env=env, capture_output=True, text=True, timeout=120
    )


@pytest.fixture
def scripted_campaign(transactional_db):
    user = get_user_model().objects.create_user(username="scripter", password="scripter-pass")
    reader = get_user_model().objects.create_user(username="reader", password="reader-pass")
    return build_campaign(pm=user, researchers=[reader], n_instances=0)


def test_the_readme_example_imports_a_small_file_inline(live_server, scripted_campaign, tmp_path):
    path = tmp_path / "items.jsonl"
    path.write_bytes(pairwise_rows(3))
    result = run_example(live_server=live_server, campaign=scripted_campaign, path=path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "imported 3"
    assert Instance.objects.filter(campaign=scripted_campaign).count() == 3


def test_the_readme_example_waits_for_the_job_of_a_large_file(
    live_server, scripted_campaign, tmp_path, celery_worker_all_queues, settings
):
    settings.IMPORT_INLINE_MAX_BYTES = 100
    settings.EXPORT_DIR = str(tmp_path / "exports")
    # Two items a human already labelled: what the researcher's export will hold.
    from annotate.services.annotations import submit_annotation
    from annotate.services.assignments import claim_next_assignment
    from annotate.services.campaigns import add_member
    from annotate.services.imports import import_instances
    from tests.conftest import make_user, pairwise_answers

    annotator = make_user("labeller")
    add_member(campaign=scripted_campaign, user=annotator, role="annotator")
    import_instances(campaign=scripted_campaign, data=pairwise_rows(2, prefix="seed"), file_format="generic")
    for _ in range(2):
        assignment = claim_next_assignment(campaign=scripted_campaign, annotator=annotator)
        submit_annotation(
            assignment_id=assignment.pk, annotator=annotator,
            answers=pairwise_answers(-1, helpfulness=-1, harmlessness=0), time_spent_seconds=5,
        )
    path = tmp_path / "items.jsonl"
    path.write_bytes(pairwise_rows(5))
    out = tmp_path / "downloads"
    out.mkdir()
    result = run_example(live_server=live_server, campaign=scripted_campaign, path=path, export="raw", out_dir=out)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("succeeded"), result.stdout
    assert Instance.objects.filter(campaign=scripted_campaign).count() == 7
    # The researcher's Parquet export, downloaded, loads as a dataset with one row per instance.
    import datasets

    (parquet,) = out.glob("*.parquet")
    assert f"downloaded {parquet.name} 2 rows" in result.stdout
    loaded = datasets.load_dataset("parquet", data_files=str(parquet), split="train")
    assert loaded.num_rows == 2
    assert any(p.name == "README.md" for p in out.iterdir())


def test_the_readme_example_prints_the_row_errors_of_a_bad_file(live_server, scripted_campaign, tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"id": "x", "prompt": "no responses"}\n')
    result = run_example(live_server=live_server, campaign=scripted_campaign, path=path)
    assert result.returncode == 1
    assert result.stdout.startswith("line 1, ")
    assert not Instance.objects.filter(campaign=scripted_campaign).exists()
