"""Importing instances: every row is checked, then everything is written or nothing is."""

from __future__ import annotations

import gzip
import hashlib
import json
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from annotate.importers import IMPORT_FORMATS
from annotate.models import (
    ImportUpload,
    Instance,
    JobKind,
    JobRun,
    JobStatus,
    Response,
)
from annotate.services import import_checks
from annotate.services.campaigns import create_campaign
from annotate.services.imports import (
    MAX_REPORTED_ERRORS,
    ImportRejected,
    ImportSummary,
    RowError,
    import_instances,
    run_import_job,
    start_import_job,
)
from annotate.services.jobs import stale_after, time_limit_options
from tests.conftest import SHARED_DIR, needs_shared_data, stored_answers

DATA = Path(__file__).resolve().parent / "data"
HH_RLHF_FILE = SHARED_DIR / "data" / "hh-rlhf-harmless-test" / "test.jsonl.gz"
LLMBAR_FILE = SHARED_DIR / "data" / "llmbar-gold" / "llmbar.instances.jsonl.gz"


def jsonl(*rows: dict | str) -> bytes:
    """A JSON Lines file; strings are written as they are (to craft broken lines)."""
    return "".join(
        (row if isinstance(row, str) else json.dumps(row)) + "\n" for row in rows
    ).encode()


def generic_row(row_id: str | int = "a", **overrides) -> dict:
    row = {
        "id": row_id,
        "prompt": "Say hello.",
        "responses": [{"model": "m1", "text": "Hello!"}, {"model": "m2", "text": "Hi."}],
    }
    row.update(overrides)
    return row


def rejection(campaign, data: bytes, file_format: str = "generic") -> ImportRejected:
    with pytest.raises(ImportRejected) as caught:
        import_instances(campaign=campaign, data=data, file_format=file_format)
    return caught.value


def error_texts(campaign, data: bytes, file_format: str = "generic") -> list[str]:
    return [str(error) for error in rejection(campaign, data, file_format).errors]


@pytest.fixture
def pm(django_user_model):
    return django_user_model.objects.create_user(username="pm")  # no password: hashing is slow


@pytest.fixture
def campaign(pm):
    return create_campaign(name="Imports", slug="imports", created_by=pm)  # pairwise


@pytest.fixture
def rating_campaign(pm):
    return create_campaign(
        name="Ratings", slug="ratings", created_by=pm, template="helpsteer2_rating"
    )


def answers(count: int) -> list[dict]:
    return [{"model": f"m{i}", "text": f"Answer {i}."} for i in range(count)]


def responses_by_id(campaign) -> dict[str, list[tuple[int, str, str]]]:
    return {
        instance.external_id: [
            (r.position, r.model_name, r.text) for r in instance.responses.order_by("position")
        ]
        for instance in campaign.instances.all()
    }


ONE_IS_NOT_A_PAIR = (
    "1 response, but this campaign compares exactly 2 "
    "(add a second response, or import it into a rating campaign)"
)
THREE_ARE_NOT_A_PAIR = (
    "3 responses, but this campaign compares exactly 2 "
    "(split the row into pairs, or import it into a rating campaign)"
)


pytestmark = pytest.mark.django_db


# --- The generic format ----------------------------------------------------------------------


def test_generic_file_creates_one_instance_per_row_with_responses_in_order(campaign):
    summary = import_instances(
        campaign=campaign, data=(DATA / "generic.jsonl").read_bytes(), file_format="generic"
    )

    assert summary == ImportSummary(created=3, format="generic")
    first, second, third = Instance.objects.filter(campaign=campaign).order_by("id")
    assert first.external_id == "capital-fr"
    assert first.messages == [{"role": "user", "content": "What is the capital of France?"}]
    assert first.metadata == {"source": "crafted", "topic": "geography"}
    assert [(r.position, r.model_name, r.text) for r in first.responses.all()] == [
        (0, "model-x", "Paris."),
        (1, "model-y", "The capital of France is Paris."),
    ]
    # An integer id becomes a string; messages are kept; a missing model is "unknown".
    assert second.external_id == "2"
    assert [m["role"] for m in second.messages] == ["system", "user", "assistant", "user"]
    assert second.metadata == {}
    assert [(r.model_name, r.text) for r in second.responses.all()] == [
        ("unknown", "11."),
        ("model-z", "13."),
    ]
    assert third.external_id == "haiku"


def test_a_line_that_is_not_json_is_reported_by_its_line(campaign):
    data = jsonl(generic_row("a"), '{"id": "b" "prompt": "x"}')

    assert error_texts(campaign, data) == [
        "line 2: is not valid JSON (Expecting ',' delimiter; column 12)"
    ]


def test_a_line_holding_something_other_than_an_object_is_an_error(campaign):
    assert error_texts(campaign, jsonl("[1, 2]")) == ["line 1: must be a JSON object, not an array"]


def test_a_missing_field_is_reported_by_name(campaign):
    row = generic_row("a")
    del row["responses"]

    assert error_texts(campaign, jsonl(row)) == ['line 1, field "responses": is required']


def test_a_wrongly_typed_field_is_reported_by_its_path(campaign):
    row = generic_row("a", responses=[{"text": "Hello!"}, {"text": 42}])

    assert error_texts(campaign, jsonl(row)) == [
        'line 1, field "responses[1].text": must be a non-empty string'
    ]


def test_every_error_of_every_row_is_reported_in_line_order(campaign):
    data = jsonl(
        generic_row("a", id=None, metadata=[]),
        generic_row("b"),
        generic_row("c", prompt="", responses=[{"text": "only one"}]),
    )

    assert error_texts(campaign, data) == [
        'line 1, field "id": is required',
        'line 1, field "metadata": must be an object (or an object\'s JSON text)',
        'line 3, field "prompt": must be a non-empty string',
        f'line 3, field "responses": {ONE_IS_NOT_A_PAIR}',
    ]


def test_prompt_and_messages_are_exclusive_and_one_is_required(campaign):
    both = generic_row("a", messages=[{"role": "user", "content": "Hi"}])
    neither = generic_row("b")
    del neither["prompt"]

    assert error_texts(campaign, jsonl(both, neither)) == [
        'line 1, field "prompt": give either "prompt" or "messages", not both',
        'line 2, field "prompt": is required (or give "messages")',
    ]


def test_messages_need_known_roles_and_must_end_with_a_user_turn(campaign):
    bad_role = generic_row("a", messages=[{"role": "human", "content": "Hi"}])
    ends_with_assistant = generic_row(
        "b",
        messages=[{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"}],
    )
    del bad_role["prompt"], ends_with_assistant["prompt"]

    assert error_texts(campaign, jsonl(bad_role, ends_with_assistant)) == [
        'line 1, field "messages[0].role": must be one of "system", "user", "assistant"',
        'line 2, field "messages": must end with a user turn',
    ]


def test_a_duplicate_id_within_the_file_names_the_first_line(campaign):
    data = jsonl(generic_row("a"), generic_row("b"), generic_row("a"))

    assert error_texts(campaign, data) == ['line 3, field "id": duplicate id "a" (first on line 1)']


def test_an_id_already_in_the_campaign_is_an_error_but_other_campaigns_do_not_matter(campaign, pm):
    import_instances(campaign=campaign, data=jsonl(generic_row("a")), file_format="generic")
    other = create_campaign(name="Other", slug="other", created_by=pm)

    assert error_texts(campaign, jsonl(generic_row("b"), generic_row("a"))) == [
        'line 2, field "id": id "a" already exists in this campaign'
    ]
    assert (
        import_instances(
            campaign=other, data=jsonl(generic_row("a")), file_format="generic"
        ).created
        == 1
    )


def test_a_file_with_one_bad_row_writes_nothing(campaign):
    rows = [generic_row(f"row-{i}") for i in range(1200)]  # more than one write batch
    rows[1100]["responses"][0]["text"] = ""
    instances_before, responses_before = Instance.objects.count(), Response.objects.count()

    rejected = rejection(campaign, jsonl(*rows))

    assert [str(e) for e in rejected.errors] == [
        'line 1101, field "responses[0].text": must be a non-empty string'
    ]
    assert str(rejected) == "The file has 1 error; nothing was imported."
    assert (Instance.objects.count(), Response.objects.count()) == (
        instances_before,
        responses_before,
    )


def test_errors_past_the_cap_are_counted_but_not_listed(campaign):
    rejected = rejection(campaign, jsonl(*["not json"] * (MAX_REPORTED_ERRORS + 50)))

    assert len(rejected.errors) == MAX_REPORTED_ERRORS == 1000
    assert rejected.total_errors == 1050
    assert rejected.errors[-1].line == 1000
    assert str(rejected) == (
        "The file has 1,050 errors (the first 1,000 are listed, and 50 more); nothing was imported."
    )


def test_an_empty_file_is_rejected(campaign):
    assert error_texts(campaign, b"") == ["the file contains no rows"]
    assert error_texts(campaign, b"\n  \n") == ["the file contains no rows"]


def test_an_unknown_format_is_rejected(campaign):
    assert error_texts(campaign, jsonl(generic_row()), file_format="csv") == [
        'unknown format "csv"; use one of: generic, multipref, helpsteer2, hh-rlhf'
    ]


def test_strings_the_database_cannot_store_are_rejected(campaign):
    data = jsonl(generic_row("a", metadata={"note": "nul\u0000byte"}))

    assert error_texts(campaign, data) == [
        (
            'line 1, field "metadata.note": contains a NUL character (\\u0000), '
            "which the database cannot store"
        )
    ]


def test_nan_is_not_accepted_as_json(campaign):
    assert error_texts(campaign, b'{"id": "a", "metadata": {"score": NaN}}\n') == [
        "line 1: is not valid JSON (NaN is not allowed)"
    ]


def test_long_ids_and_model_names_are_rejected_before_the_database_sees_them(campaign):
    row = generic_row("x" * 201, responses=[{"model": "m" * 201, "text": "a"}, {"text": "b"}])

    assert error_texts(campaign, jsonl(row)) == [
        'line 1, field "id": must be at most 200 characters',
        'line 1, field "responses[0].model": must be at most 200 characters',
    ]


# --- Compression ---------------------------------------------------------------------------------


def test_gzip_is_detected_by_its_magic_bytes(campaign):
    data = gzip.compress((DATA / "generic.jsonl").read_bytes())

    summary = import_instances(campaign=campaign, data=data, file_format="generic")

    assert summary.created == 3


def test_a_broken_gzip_stream_is_rejected(campaign):
    data = gzip.compress(jsonl(generic_row()))[:20]

    [message] = error_texts(campaign, data)
    assert message.startswith("the file looks gzip-compressed but cannot be decompressed")


def test_a_file_larger_than_the_limit_is_rejected_even_once_decompressed(campaign, settings):
    settings.IMPORT_MAX_DECOMPRESSED_BYTES = 1000
    data = gzip.compress(jsonl(*[generic_row(f"r{i}") for i in range(50)]))
    assert len(data) < 1000

    assert error_texts(campaign, data) == [
        "the file is larger than 1,000 bytes once decompressed; split it up"
    ]


# --- MultiPref, HelpSteer2, hh-rlhf ---------------------------------------------------------------


def test_multipref_rows_become_one_instance_per_comparison(campaign):
    summary = import_instances(
        campaign=campaign, data=(DATA / "multipref.jsonl").read_bytes(), file_format="multipref"
    )

    assert summary.created == 2
    instance = Instance.objects.get(campaign=campaign, external_id="cmp-001")
    assert instance.messages == [{"role": "user", "content": "How do I boil an egg?"}]
    assert [(r.model_name, r.text) for r in instance.responses.all()] == [
        ("allenai/tulu-2-70b", "Put it in boiling water for 9 minutes."),
        ("gpt-4-turbo", "Simmer it for 7 to 10 minutes, then cool it in cold water."),
    ]
    assert instance.metadata == {
        "prompt_id": "p-01",
        "source": "anthropic/helpful-base",
        "category": "Open QA",
        "subject_study": "Culinary arts",
        "highest_level_degree": "Bachelor's",
    }
    labels = {
        (a.pool, a.external_annotator): (a.source, a.overall_preference)
        for a in instance.annotations.all()
    }
    assert labels == {("normal", "w1"): ("imported", 1), ("expert", "e1"): ("imported", 2)}
    assert summary.labels_imported == 2


def test_multipref_errors_name_the_multipref_columns(campaign):
    row = json.loads((DATA / "multipref.jsonl").read_text().splitlines()[0])
    del row["completion_b"]
    duplicate = dict(row, completion_b="x")

    assert error_texts(campaign, jsonl(row, duplicate, duplicate), "multipref") == [
        'line 1, field "completion_b": is required',
        'line 3, field "comparison_id": duplicate id "cmp-001" (first on line 2)',
    ]


def test_helpsteer2_pairs_consecutive_rows_and_splits_multi_turn_prompts(campaign):
    summary = import_instances(
        campaign=campaign, data=(DATA / "helpsteer2.jsonl").read_bytes(), file_format="helpsteer2"
    )

    assert summary.created == 2
    single, multi = Instance.objects.filter(campaign=campaign).order_by("id")
    assert single.messages == [
        {"role": "user", "content": "What colour is the sky on a clear day?"}
    ]
    assert next(r.text for r in single.responses.all()) == "Blue."
    # This campaign asks no ratings: the released ratings are counted and kept whole, not answers.
    release = single.annotations.get(source="imported")
    assert release.external_annotator == "helpsteer2-release" and not release.answers.exists()
    assert release.raw_output["ratings"]["0"] == {
        "helpfulness": 3,
        "correctness": 4,
        "coherence": 4,
        "complexity": 0,
        "verbosity": 0,
    }
    assert release.raw_output["ratings"]["1"]["verbosity"] == 2
    assert summary.answers_not_in_task["verbosity"] == 4
    assert multi.messages == [
        {"role": "user", "content": "Suggest a name for a cat."},
        {"role": "assistant", "content": "How about Miso?"},
        {"role": "user", "content": "Something longer, please."},
    ]
    assert [r.text for r in multi.responses.all()] == ["Bartholomew.", "Cat."]
    assert multi.external_id.startswith("hs2-") and len(multi.external_id) == 20


def test_helpsteer2_ids_are_derived_from_content_so_a_reimport_is_caught(campaign):
    data = (DATA / "helpsteer2.jsonl").read_bytes()
    import_instances(campaign=campaign, data=data, file_format="helpsteer2")

    assert error_texts(campaign, data, "helpsteer2") == [
        f'line {line}, field "prompt": id "{external_id}" already exists in this campaign'
        for line, external_id in zip(
            (1, 3), Instance.objects.order_by("id").values_list("external_id", flat=True), strict=False
        )
    ]


def test_a_helpsteer2_row_without_a_partner_is_an_error_naming_its_line(campaign):
    lines = (DATA / "helpsteer2.jsonl").read_text().splitlines()
    data = "\n".join([lines[0], lines[2], lines[3]]).encode()

    assert error_texts(campaign, data, "helpsteer2") == [
        (
            'line 1, field "prompt": has no partner row: HelpSteer2 rows come in pairs '
            "sharing a prompt on consecutive lines"
        )
    ]


def test_helpsteer2_ratings_must_be_integers_from_0_to_4(campaign):
    first, second = (DATA / "helpsteer2.jsonl").read_text().splitlines()[:2]
    bad = json.dumps(dict(json.loads(second), verbosity=5, coherence="high"))

    assert error_texts(campaign, f"{first}\n{bad}\n".encode(), "helpsteer2") == [
        'line 2, field "coherence": must be an integer from 0 to 4',
        'line 2, field "verbosity": must be an integer from 0 to 4',
    ]


def test_hh_rlhf_shared_prefix_becomes_messages_and_final_replies_the_responses(campaign):
    summary = import_instances(
        campaign=campaign, data=(DATA / "hh_rlhf.jsonl").read_bytes(), file_format="hh-rlhf"
    )

    assert summary.created == 2
    tea = Instance.objects.filter(campaign=campaign).order_by("id").first()
    assert tea.messages == [
        {"role": "user", "content": "How do I make tea?"},
        {"role": "assistant", "content": "Do you have tea bags or loose leaves?"},
        {"role": "user", "content": "Tea bags."},
    ]
    assert tea.external_id.startswith("hh-")
    # The dataset's preferred reply sits where metadata says, not always at A.
    texts = [r.text for r in tea.responses.all()]
    chosen_position = "AB".index(tea.metadata["source_preference"])
    assert texts[chosen_position] == "Steep one bag in just-boiled water for three minutes."
    assert texts[1 - chosen_position] == "Coffee is better."
    assert tea.metadata["source"] == "hh-rlhf"


def test_hh_rlhf_transcripts_that_diverge_before_the_last_reply_are_errors(campaign):
    row = {
        "chosen": "\n\nHuman: Hi\n\nAssistant: Hello\n\nHuman: Bye\n\nAssistant: Bye!",
        "rejected": "\n\nHuman: Hi\n\nAssistant: Hey\n\nHuman: Bye\n\nAssistant: Later.",
    }

    assert error_texts(campaign, jsonl(row), "hh-rlhf") == [
        (
            'line 1, field "rejected": does not share the conversation before its last '
            'assistant reply with "chosen"'
        )
    ]


# --- How many responses an instance has: two to compare, one or more to rate -----------------


def test_a_pairwise_campaign_refuses_rows_without_exactly_two_responses_and_imports_nothing(
    campaign,
):
    data = jsonl(
        generic_row("one", responses=answers(1)),
        generic_row("two", responses=answers(2)),
        generic_row("three", responses=answers(3)),
    )

    assert error_texts(campaign, data) == [
        f'line 1, field "responses": {ONE_IS_NOT_A_PAIR}',
        f'line 3, field "responses": {THREE_ARE_NOT_A_PAIR}',
    ]
    assert not Instance.objects.filter(campaign=campaign).exists()


def test_a_campaign_asking_for_preferences_and_ratings_also_compares_exactly_two(pm):
    both = create_campaign(name="Both", slug="both", created_by=pm, template="rate_then_prefer")

    assert error_texts(both, jsonl(generic_row("three", responses=answers(3)))) == [
        f'line 1, field "responses": {THREE_ARE_NOT_A_PAIR}'
    ]


def test_a_rating_campaign_imports_rows_with_one_two_or_three_responses_in_order(
    rating_campaign,
):
    data = jsonl(
        generic_row("one", responses=answers(1)),
        generic_row("two", responses=answers(2)),
        generic_row("three", responses=answers(3)),
    )

    summary = import_instances(campaign=rating_campaign, data=data, file_format="generic")

    assert summary.created == 3
    assert responses_by_id(rating_campaign) == {
        "one": [(0, "m0", "Answer 0.")],
        "two": [(0, "m0", "Answer 0."), (1, "m1", "Answer 1.")],
        "three": [(0, "m0", "Answer 0."), (1, "m1", "Answer 1."), (2, "m2", "Answer 2.")],
    }


def test_a_rating_campaign_still_needs_a_response_to_rate(rating_campaign):
    assert error_texts(rating_campaign, jsonl(generic_row("none", responses=[]))) == [
        'line 1, field "responses": needs at least 1 response, got 0'
    ]


def test_a_lone_helpsteer2_row_becomes_a_single_response_instance_in_a_rating_campaign(
    rating_campaign,
):
    lines = (DATA / "helpsteer2.jsonl").read_text().splitlines()
    lone = json.loads(lines[0])
    data = "\n".join([lines[0], lines[2], lines[3]]).encode()

    summary = import_instances(campaign=rating_campaign, data=data, file_format="helpsteer2")

    assert summary.created == 2
    first, pair = Instance.objects.filter(campaign=rating_campaign).order_by("id")
    digest = hashlib.sha256(f"{lone['prompt']}\0{lone['response']}".encode()).hexdigest()
    assert first.external_id == f"hs2-{digest[:16]}"
    assert [r.text for r in first.responses.all()] == ["Blue."]
    release = first.annotations.get(source="imported")
    assert stored_answers(release) == {
        ("helpfulness", 0): 3, ("correctness", 0): 4, ("coherence", 0): 4, ("complexity", 0): 0,
        ("verbosity", 0): 0,
    }
    assert summary.answers_not_in_task == {}
    assert [r.text for r in pair.responses.all()] == ["Bartholomew.", "Cat."]


def test_helpsteer2_pairs_the_same_rows_into_the_same_instances_in_either_kind_of_campaign(
    campaign, rating_campaign
):
    data = (DATA / "helpsteer2.jsonl").read_bytes()

    import_instances(campaign=campaign, data=data, file_format="helpsteer2")
    import_instances(campaign=rating_campaign, data=data, file_format="helpsteer2")

    assert responses_by_id(rating_campaign) == responses_by_id(campaign)
    assert len(responses_by_id(campaign)) == 2


def test_a_third_helpsteer2_row_on_the_same_prompt_is_unpaired_or_rated_on_its_own(
    campaign, rating_campaign
):
    first, second = (DATA / "helpsteer2.jsonl").read_text().splitlines()[:2]
    third = json.dumps(dict(json.loads(second), response="Azure."))
    data = f"{first}\n{second}\n{third}\n".encode()

    assert error_texts(campaign, data, "helpsteer2") == [
        (
            'line 3, field "prompt": has no partner row: HelpSteer2 rows come in pairs '
            "sharing a prompt on consecutive lines"
        )
    ]
    import_instances(campaign=rating_campaign, data=data, file_format="helpsteer2")
    pair, alone = Instance.objects.filter(campaign=rating_campaign).order_by("id")
    assert pair.responses.count() == 2
    assert [r.text for r in alone.responses.all()] == ["Azure."]


@pytest.mark.parametrize(
    ("file_format", "filename"), [("multipref", "multipref.jsonl"), ("hh-rlhf", "hh_rlhf.jsonl")]
)
def test_formats_that_always_hold_a_pair_import_into_rating_campaigns_too(
    rating_campaign, file_format, filename
):
    summary = import_instances(
        campaign=rating_campaign, data=(DATA / filename).read_bytes(), file_format=file_format
    )

    assert summary.created == 2
    assert all(len(responses) == 2 for responses in responses_by_id(rating_campaign).values())


# --- The management command -------------------------------------------------------------------------


def test_command_imports_a_file_and_prints_the_count(campaign, capsys):
    call_command(
        "import_instances", "--campaign", "imports", "--format", "multipref",
        str(DATA / "multipref.jsonl"),
    )  # fmt: skip

    assert 'Imported 2 instances into campaign "imports".' in capsys.readouterr().out
    assert campaign.instances.count() == 2


def test_command_prints_every_row_error_and_exits_non_zero(campaign, tmp_path, capsys):
    path = tmp_path / "bad.jsonl"
    path.write_bytes(jsonl("{oops", generic_row("a"), generic_row("a")))

    with pytest.raises(CommandError) as caught:
        call_command("import_instances", "--campaign", "imports", str(path))

    assert caught.value.returncode == 1
    assert str(caught.value) == "The file has 2 errors; nothing was imported."
    assert capsys.readouterr().err.splitlines() == [
        "line 1: is not valid JSON (Expecting property name enclosed in double quotes; column 2)",
        'line 3, field "id": duplicate id "a" (first on line 2)',
    ]
    assert campaign.instances.count() == 0


def test_command_explains_a_missing_file_and_an_unknown_campaign(campaign, tmp_path):
    with pytest.raises(CommandError, match="No such file: .*missing.jsonl"):
        call_command("import_instances", "--campaign", "imports", str(tmp_path / "missing.jsonl"))
    with pytest.raises(CommandError, match='No campaign with slug "nope"'):
        call_command("import_instances", "--campaign", "nope", str(DATA / "generic.jsonl"))


# --- The import job -------------------------------------------------------------------------------------


def test_start_import_job_stores_the_upload_and_enqueues_only_on_commit(
    campaign, pm, django_capture_on_commit_callbacks
):
    data = (DATA / "generic.jsonl").read_bytes()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        job = start_import_job(
            campaign=campaign,
            created_by=pm,
            filename="rows.jsonl",
            data=data,
            file_format="generic",
        )

    assert len(callbacks) == 1
    assert (job.kind, job.status, job.campaign, job.created_by) == (
        JobKind.IMPORT,
        JobStatus.QUEUED,
        campaign,
        pm,
    )
    upload = ImportUpload.objects.get(job=job)
    assert (upload.filename, upload.file_format, upload.size_bytes) == (
        "rows.jsonl",
        "generic",
        len(data),
    )
    assert upload.file.name.startswith("imports/") and upload.content is None
    with upload.open_content() as stored:
        assert stored.read() == data
    assert campaign.instances.count() == 0


def test_start_import_job_sends_the_import_task_with_the_job_id(
    campaign, pm, django_capture_on_commit_callbacks, monkeypatch
):
    from config.celery import app

    sent = []
    monkeypatch.setattr(app, "send_task", lambda name, **options: sent.append((name, options)))
    with django_capture_on_commit_callbacks(execute=True):
        job = start_import_job(
            campaign=campaign, created_by=pm, filename="f", data=b"{}", file_format="generic"
        )

    assert sent == [("annotate.run_import", {"args": [job.pk], **time_limit_options("import")})]


def test_an_import_job_writes_the_instances_and_records_the_count(campaign, pm):
    job = start_import_job(
        campaign=campaign,
        created_by=pm,
        filename="hs2.jsonl",
        data=gzip.compress((DATA / "helpsteer2.jsonl").read_bytes()),
        file_format="helpsteer2",
    )

    run_import_job(job_id=job.pk)

    job.refresh_from_db()
    assert (job.status, job.result, job.error) == (
        JobStatus.SUCCEEDED,
        # The released ratings come as labels; this pairwise task asks no per-response ratings.
        {"created": 2, "labels_imported": 2, "answers_not_in_task": {
            "coherence": 4, "complexity": 4, "correctness": 4, "helpfulness": 4, "verbosity": 4,
        }},
        "",
    )
    assert Instance.objects.filter(import_job=job).count() == 2


def test_an_import_job_stores_its_upload_as_a_file_under_media_root(campaign, pm, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    data = jsonl(generic_row("a"), generic_row("b"))

    job = start_import_job(campaign=campaign, created_by=pm, filename="rows.jsonl", data=data, file_format="generic")

    upload = ImportUpload.objects.get(job=job)
    stored = tmp_path / upload.file.name
    assert stored.read_bytes() == data and upload.content is None  # no copy in the database
    run_import_job(job_id=job.pk)
    job.refresh_from_db()
    assert (job.status, job.result["created"]) == (JobStatus.SUCCEEDED, 2)


def test_an_upload_stored_in_the_database_before_0014_still_imports(campaign, pm):
    job = start_import_job(
        campaign=campaign, created_by=pm, filename="old.jsonl", data=b"{}", file_format="generic"
    )
    old = jsonl(generic_row("old-1"))
    upload = ImportUpload.objects.get(job=job)
    upload.file.delete(save=False)
    ImportUpload.objects.filter(pk=upload.pk).update(file="", content=old, size_bytes=len(old))

    run_import_job(job_id=job.pk)

    job.refresh_from_db()
    assert (job.status, job.result["created"]) == (JobStatus.SUCCEEDED, 1)


def test_an_import_job_whose_file_is_missing_fails_saying_where_it_looked(campaign, pm):
    job = start_import_job(
        campaign=campaign, created_by=pm, filename="rows.jsonl", data=jsonl(generic_row("a")), file_format="generic"
    )
    ImportUpload.objects.get(job=job).file.delete(save=False)

    run_import_job(job_id=job.pk)

    job.refresh_from_db()
    assert job.status == JobStatus.FAILED
    assert job.error.startswith("The uploaded file is missing from the upload storage (MEDIA_ROOT)")
    assert campaign.instances.count() == 0


def test_a_rejected_file_fails_the_job_with_every_row_error_listed(campaign, pm):
    job = start_import_job(
        campaign=campaign,
        created_by=pm,
        filename="bad.jsonl",
        data=jsonl(generic_row("a"), generic_row("a", responses=[])),
        file_format="generic",
    )

    run_import_job(job_id=job.pk)

    job.refresh_from_db()
    assert job.status == JobStatus.FAILED
    assert job.error == "The file has 1 error; nothing was imported."
    assert job.error_details == [
        {
            "line": 2,
            "field": "responses",
            "message": "0 responses, but this campaign compares exactly 2",
            "text": 'line 2, field "responses": 0 responses, but this campaign compares exactly 2',
        }
    ]
    assert campaign.instances.count() == 0


def test_a_redelivered_import_message_after_a_lost_worker_does_not_import_twice(campaign, pm):
    job = start_import_job(
        campaign=campaign,
        created_by=pm,
        filename="rows.jsonl",
        data=(DATA / "generic.jsonl").read_bytes(),
        file_format="generic",
    )
    run_import_job(job_id=job.pk)
    # The worker died after committing the rows but before recording success, and its
    # heartbeat went stale, so the redelivered message may claim the job again.
    JobRun.objects.filter(pk=job.pk).update(
        status=JobStatus.RUNNING, heartbeat_at=timezone.now() - stale_after() * 2
    )

    run_import_job(job_id=job.pk)
    run_import_job(job_id=job.pk)  # and a finished job is not run again

    job.refresh_from_db()
    assert (job.status, job.result, job.attempts) == (
        JobStatus.SUCCEEDED,
        {"created": 3, "labels_imported": 0, "answers_not_in_task": None, "resumed": True},
        2,
    )
    assert campaign.instances.count() == 3


def test_start_import_job_refuses_an_unknown_format_without_creating_a_job(campaign, pm):
    with pytest.raises(ImportRejected) as caught:
        start_import_job(campaign=campaign, created_by=pm, filename="f", data=b"", file_format="x")

    assert str(caught.value.errors[0]).startswith('unknown format "x"')
    assert JobRun.objects.count() == 0


def test_progress_is_reported_while_checking_and_when_done(campaign):
    calls = []
    data = jsonl(*[generic_row(f"r{i}") for i in range(450)])

    import_instances(
        campaign=campaign,
        data=data,
        file_format="generic",
        progress=lambda done, total, message: calls.append((done, total, message)),
    )

    assert (200, 450, "Checked 200 of 450 lines") in calls
    assert calls[-1] == (450, 450, "Imported 450 instances")


def test_an_id_committed_by_a_concurrent_import_is_reported_not_crashed(campaign, monkeypatch):
    # Simulate the race: the other import commits "a" after this one checked its ids.
    real_check = import_checks.existing_id_errors
    checks = []

    def check_after_the_other_import(*, campaign, parsed):
        checks.append(len(parsed))
        if len(checks) == 1:
            Instance.objects.create(campaign=campaign, external_id="a", messages=[])
            return []
        return real_check(campaign=campaign, parsed=parsed)

    monkeypatch.setattr(import_checks, "existing_id_errors", check_after_the_other_import)

    assert error_texts(campaign, jsonl(generic_row("b"), generic_row("a"))) == [
        'line 2, field "id": id "a" already exists in this campaign'
    ]
    assert list(campaign.instances.values_list("external_id", flat=True)) == ["a"]


# --- Real files in the shared folder ------------------------------------------------------------------

needs_shared = needs_shared_data(HH_RLHF_FILE, LLMBAR_FILE)


@needs_shared
def test_the_first_200_hh_rlhf_harmless_rows_import_cleanly(campaign):
    lines = gzip.decompress(HH_RLHF_FILE.read_bytes()).split(b"\n")[:200]

    summary = import_instances(campaign=campaign, data=b"\n".join(lines), file_format="hh-rlhf")

    assert summary.created == 200
    preferences = list(
        Instance.objects.filter(campaign=campaign).values_list(
            "metadata__source_preference", flat=True
        )
    )
    assert 60 < preferences.count("A") < 140  # the chosen reply is not always shown as A
    assert Response.objects.filter(instance__campaign=campaign).count() == 400


@needs_shared
def test_the_whole_hh_rlhf_harmless_test_file_is_rejected_on_its_five_diverging_rows(campaign):
    rejected = rejection(campaign, HH_RLHF_FILE.read_bytes(), "hh-rlhf")

    assert [(e.line, e.field) for e in rejected.errors] == [
        (1255, "rejected"),
        (1689, "rejected"),
        (1951, "rejected"),
        (1953, "rejected"),
        (2037, "rejected"),
    ]
    assert campaign.instances.count() == 0


@needs_shared
def test_the_llmbar_instances_file_imports_as_generic(campaign):
    summary = import_instances(
        campaign=campaign, data=LLMBAR_FILE.read_bytes(), file_format="generic"
    )

    assert summary.created == 419
    first = campaign.instances.get(external_id="llmbar.natural.0000")
    assert first.metadata["subset"] == "Natural"
    assert first.responses.count() == 2


def test_every_registered_format_has_a_label():
    assert set(IMPORT_FORMATS) == {"generic", "multipref", "helpsteer2", "hh-rlhf"}
    assert all(importer.label for importer in IMPORT_FORMATS.values())


def test_row_error_text_shapes():
    assert str(RowError(3, "responses[1].text", "must be a non-empty string")) == (
        'line 3, field "responses[1].text": must be a non-empty string'
    )
    assert str(RowError(3, "", "is not valid JSON (x)")) == "line 3: is not valid JSON (x)"
    assert str(RowError(0, "", "the file contains no rows")) == "the file contains no rows"
