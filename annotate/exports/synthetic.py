"""A large labelled campaign written straight to the tables, for the export memory test and
benchmark (no services: a 100k-annotation campaign through them would take minutes)."""

from __future__ import annotations

from annotate.models import Annotation, AnnotationSource, Campaign, Instance, Response

MODELS = ("judge-a", "judge-b", "judge-c", "judge-d")


def fill_with_llm_labels(*, campaign: Campaign, n_instances: int, batch: int = 2000) -> int:
    """``n_instances`` pairs with one LLM label per model in :data:`MODELS` (4 per instance).
    Returns the number of annotations written."""
    written = 0
    for start in range(0, n_instances, batch):
        stop = min(n_instances, start + batch)
        instances = Instance.objects.bulk_create(
            Instance(
                campaign=campaign,
                external_id=f"syn-{i}",
                messages=[{"role": "user", "content": f"Synthetic prompt {i}: explain topic {i % 97} briefly."}],
            )
            for i in range(start, stop)
        )
        Response.objects.bulk_create(
            Response(instance=instance, position=p, model_name=f"model-{p}", text=f"Answer {p} to {instance.external_id}. " * 8)
            for instance in instances
            for p in (0, 1)
        )
        annotations = Annotation.objects.bulk_create(
            Annotation(
                campaign=campaign,
                instance=instance,
                source=AnnotationSource.LLM,
                model_name=model,
                prompt_version="v1",
                overall_preference=(-1 if (k + m) % 3 else 1),
            )
            for k, instance in enumerate(instances)
            for m, model in enumerate(MODELS)
        )
        written += len(annotations)
    return written
