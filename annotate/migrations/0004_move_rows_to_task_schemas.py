"""Move every campaign, label and lease onto the v2 data model, losing nothing.

- Each campaign's ``task_kind`` / ``pairwise_aspects`` / ``rating_scales`` /
  ``require_justification`` become task schema v1 (template ``migrated``): the overall
  5-point preference (primary), one optional 5-point question per aspect, one 0–4 (or the
  configured bounds) rating question per scale and response (key ``<name>_rating`` when an
  aspect has the same name), and the justification.
- ``guidelines_markdown`` / ``guidelines_version`` become a GuidelineVersion row; versions that
  only labels still name get a row whose text says it was not kept.
- Each annotation's ``overall_preference``, ``aspect_preferences``, ``ratings`` and
  ``justification`` become AnswerValue rows. An aspect or attribute the campaign no longer
  lists becomes an extra optional question, so no answer is dropped.
- Each instance gets a QueueItem (overlap from the campaign, slots = live assignments); every
  assignment records the row order as its display order (v1 showed responses in row order).
  In a pairwise campaign an instance with other than two responses (v1 accepted them and
  showed two) keeps everything but takes no new human labels: its required overlap is the
  labels it has.
- Labels v1 importers kept in metadata (HelpSteer2's ``helpsteer2_ratings``, hh-rlhf's
  ``source_preference``) become imported annotations, as v2 imports write them.
"""

from __future__ import annotations

import re

from django.db import migrations

LIKERT_5 = [
    (-2, "A-is-clearly-better", "A is clearly better"),
    (-1, "A-is-slightly-better", "A is slightly better"),
    (0, "Tie", "Tie"),
    (1, "B-is-slightly-better", "B is slightly better"),
    (2, "B-is-clearly-better", "B is clearly better"),
]


def _free_key(Question, schema, name, suffix):
    """A question key from a v1 aspect or scale name: lower-case letters, digits and _, at most
    60 characters, and not taken in this schema (``<name>_<suffix>``, then numbered)."""
    base = re.sub(r"[^a-z0-9_]+", "_", str(name).lower()).strip("_")[:40] or "question"
    if not base[0].isalpha():
        base = f"q_{base}"[:40]
    key, n = base, 1
    while Question.objects.filter(schema=schema, key=key).exists():
        key = f"{base}_{suffix}" if n == 1 else f"{base}_{suffix}_{n}"
        n += 1
    return key


def _add_likert(Question, QuestionOption, schema, *, key, label, order, required, primary=False, group=""):
    if not primary:
        key = _free_key(Question, schema, key, "aspect")
    question = Question.objects.create(
        schema=schema, key=key, kind="pairwise", target="pair", label=label,
        required=required, order=order, primary=primary, group=group,
    )
    for i, (value, code, option_label) in enumerate(LIKERT_5):
        QuestionOption.objects.create(question=question, value=value, code=code, label=option_label, order=i)
    return question


def _add_rating(Question, QuestionOption, schema, *, key, low, high, order):
    # An attribute may share its name with an aspect ("both" campaigns): keys are unique per schema.
    label = str(key).replace("_", " ").capitalize()[:200]
    key = _free_key(Question, schema, key, "rating")
    question = Question.objects.create(
        schema=schema, key=key, kind="rating", target="each_response",
        label=label, required=True, order=order, group="ratings",
    )
    for i, value in enumerate(range(low, high + 1)):
        QuestionOption.objects.create(question=question, value=value, code=str(value), label=str(value), order=i)
    return question


def forwards(apps, schema_editor):
    Campaign = apps.get_model("annotate", "Campaign")
    TaskSchema = apps.get_model("annotate", "TaskSchema")
    Question = apps.get_model("annotate", "Question")
    QuestionOption = apps.get_model("annotate", "QuestionOption")
    GuidelineVersion = apps.get_model("annotate", "GuidelineVersion")
    Annotation = apps.get_model("annotate", "Annotation")
    AnswerValue = apps.get_model("annotate", "AnswerValue")
    Instance = apps.get_model("annotate", "Instance")
    QueueItem = apps.get_model("annotate", "QueueItem")
    Assignment = apps.get_model("annotate", "Assignment")

    for campaign in Campaign.objects.all().order_by("id"):
        _migrate_campaign(
            campaign, Question, QuestionOption, TaskSchema, GuidelineVersion, Annotation,
            AnswerValue, Instance, QueueItem, Assignment,
        )


def _migrate_campaign(
    campaign, Question, QuestionOption, TaskSchema, GuidelineVersion, Annotation,
    AnswerValue, Instance, QueueItem, Assignment,
):
    schema = TaskSchema.objects.create(campaign=campaign, version=1, template="migrated")
    order = 0
    questions = {}
    asks_pairwise = campaign.task_kind in ("pairwise", "both")
    asks_ratings = campaign.task_kind in ("rating", "both")
    if asks_pairwise:
        questions["overall"] = _add_likert(
            Question, QuestionOption, schema, key="overall",
            label="Overall, which response is better?", order=order, required=True, primary=True,
        )
        for aspect in campaign.pairwise_aspects or []:
            order += 1
            questions[f"aspect:{aspect}"] = _add_likert(
                Question, QuestionOption, schema, key=aspect, label=str(aspect).capitalize()[:200],
                order=order, required=False, group="aspects",
            )
    if asks_ratings:
        for scale in campaign.rating_scales or []:
            order += 1
            questions[f"rating:{scale['name']}"] = _add_rating(
                Question, QuestionOption, schema, key=scale["name"],
                low=int(scale.get("min", 0)), high=int(scale.get("max", 4)), order=order,
            )
    order += 1
    questions["justification"] = Question.objects.create(
        schema=schema, key=_free_key(Question, schema, "justification", "text"), kind="text",
        target="pair", label="Justification",
        required=campaign.require_justification and asks_pairwise, order=order,
    )

    versions = {campaign.guidelines_version: campaign.guidelines_markdown}
    for used in Annotation.objects.filter(campaign=campaign).values_list("guidelines_version", flat=True).distinct():
        versions.setdefault(used, "(The text of this version was not kept before guideline versions were stored.)")
    guideline_rows = {
        version: GuidelineVersion.objects.create(campaign=campaign, version=version, markdown=markdown)
        for version, markdown in sorted(versions.items())
    }
    campaign.task_schema = schema
    campaign.guidelines = guideline_rows[campaign.guidelines_version]
    campaign.save(update_fields=["task_schema", "guidelines"])

    def question_for(key, *, kind):
        nonlocal order
        lookup = {"overall": "overall", "aspect": f"aspect:{key}", "rating": f"rating:{key}"}[kind]
        if lookup not in questions:
            order += 1
            if kind == "overall":
                questions[lookup] = _add_likert(
                    Question, QuestionOption, schema, key="overall",
                    label="Overall, which response is better?", order=order, required=False, primary=True,
                )
            elif kind == "aspect":
                questions[lookup] = _add_likert(
                    Question, QuestionOption, schema, key=key, label=str(key).capitalize()[:200],
                    order=order, required=False, group="aspects",
                )
            else:
                questions[lookup] = _add_rating(
                    Question, QuestionOption, schema, key=key, low=0, high=4, order=order,
                )
                questions[lookup].required = False
                questions[lookup].save(update_fields=["required"])
        return questions[lookup]

    def option_for(question, value):
        option = QuestionOption.objects.filter(question=question, value=value).first()
        if option is None:  # a value outside the configured bounds: keep it, as its own option
            option = QuestionOption.objects.create(
                question=question, value=value, code=str(value), label=str(value),
                order=QuestionOption.objects.filter(question=question).count(),
            )
        return option

    for annotation in Annotation.objects.filter(campaign=campaign).order_by("id"):
        answers = []
        if annotation.overall_preference is not None:
            question = question_for("overall", kind="overall")
            option = option_for(question, annotation.overall_preference)
            answers.append(AnswerValue(annotation=annotation, question=question, option=option, value=option.value))
        for aspect, value in sorted((annotation.aspect_preferences or {}).items()):
            question = question_for(aspect, kind="aspect")
            option = option_for(question, value)
            answers.append(AnswerValue(annotation=annotation, question=question, option=option, value=option.value))
        for position, scores in sorted((annotation.ratings or {}).items()):
            for attribute, value in sorted(scores.items()):
                question = question_for(attribute, kind="rating")
                option = option_for(question, value)
                answers.append(
                    AnswerValue(
                        annotation=annotation, question=question, response_position=int(position),
                        option=option, value=option.value,
                    )
                )
        if annotation.justification:
            answers.append(
                AnswerValue(annotation=annotation, question=questions["justification"], text=annotation.justification)
            )
        AnswerValue.objects.bulk_create(answers)
        annotation.task_schema = schema
        annotation.guidelines = guideline_rows[annotation.guidelines_version]
        annotation.save(update_fields=["task_schema", "guidelines"])

    for instance in Instance.objects.filter(campaign=campaign).order_by("id"):
        live = Assignment.objects.filter(instance=instance, status__in=["leased", "submitted"]).count()
        positions = sorted(instance.responses.values_list("position", flat=True))
        required = max(campaign.overlap, live)
        if asks_pairwise and len(positions) != 2:
            # v1 took rows of 3+ responses into pairwise campaigns and showed only two: the item
            # keeps its responses and labels but takes no new human labels (split it into pairs).
            required = live
        item = QueueItem.objects.create(
            campaign=campaign, instance=instance, required_overlap=required, slots_taken=live,
        )
        # v1 showed every item in row order: record it, so that answers map back unchanged.
        Assignment.objects.filter(instance=instance).update(queue_item=item, display_order=positions)
        _move_metadata_labels(instance, schema, questions, QuestionOption, Annotation, AnswerValue)


def _move_metadata_labels(instance, schema, questions, QuestionOption, Annotation, AnswerValue):
    """v1 importers kept HelpSteer2's released ratings and hh-rlhf's choice in metadata; they
    become imported labels, as the v2 importers write them."""
    metadata = dict(instance.metadata or {})
    ratings = metadata.pop("helpsteer2_ratings", None)
    if isinstance(ratings, dict):
        label = Annotation.objects.create(
            campaign=instance.campaign, instance=instance, source="imported",
            external_annotator="helpsteer2-release", task_schema=schema, raw_output={"ratings": ratings},
        )
        rows = []
        for position, scores in sorted(ratings.items()):
            for attribute, value in sorted((scores or {}).items()):
                question = questions.get(f"rating:{attribute}")
                option = QuestionOption.objects.filter(question=question, value=value).first() if question else None
                if option is not None:
                    rows.append(
                        AnswerValue(annotation=label, question=question, response_position=int(position),
                                    option=option, value=value)
                    )
        AnswerValue.objects.bulk_create(rows)
        instance.metadata = metadata
        instance.save(update_fields=["metadata"])
    side = metadata.get("source_preference")
    if metadata.get("source") == "hh-rlhf" and side in ("A", "B") and "overall" in questions:
        value = -1 if side == "A" else 1
        option = QuestionOption.objects.get(question=questions["overall"], value=value)
        label = Annotation.objects.create(
            campaign=instance.campaign, instance=instance, source="imported",
            external_annotator="hh-rlhf-crowdworker", task_schema=schema, raw_output={"chosen": side},
            overall_preference=value,
        )
        AnswerValue.objects.create(annotation=label, question=questions["overall"], option=option, value=value)


class Migration(migrations.Migration):
    dependencies = [("annotate", "0003_task_schema_answers_guidelines_queue")]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
