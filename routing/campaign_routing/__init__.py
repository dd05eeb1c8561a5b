"""Routing a campaign: the "Route campaign" job, its decisions and the labels LLM-routed items keep.

``start_routing_job`` queues a JobRun; ``run_routing_job`` (a Celery task on the ``llm`` queue)

1. has every chosen LLM annotator judge every pair of the campaign (both orders for chat judges;
   what each already labelled is skipped), the seed included: the jury's verdicts on the items
   humans labelled are how its reliability is measured;
2. reads the LLM-side verdicts and the human labels given so far (every instance with a human
   label is paid from the budget and counts as read), computes and stores each instance's
   features and tags with their version;
3. keeps the campaign's seed (``routing.routing_seed``: random items humans label first; the
   judges' weights for the jury label, and the choice of the label LLM-routed items keep, are
   fitted on the seed's human labels only), scores every item with ``routing.core.error_model``
   (the chance that the label it would keep, the jury's or the main judge's, is wrong; or the
   jury rule, or at random) and keeps human the seed and the items
   already labelled or in progress; fills the rest of the budget with the highest-value items; stores one ``RoutingDecision`` per instance with its expected gain and
   the signals behind it, the predicted agreement-vs-budget curve, the split by tag and each
   judge's agreement with the humans;
4. routes the queue (human items get priority by rank, LLM items leave the human queue) and
   queues a job on the ``llm`` queue that gives the LLM-routed items the label the seed chose:
   the reliability-weighted jury label or the main judge's own (``label_with_jury``).

Modules: ``requests`` (start a run), ``state`` (what a run reads), ``decisions`` (scores, curve,
reasons, seed, PPM), ``route_job`` (the job), ``kept_labels`` (the jury job), ``selectors``.

Re-routing (a second run) refits on the human labels that came in since and records a new run
that supersedes the last one.
"""

from routing.campaign_routing.kept_labels import run_jury_label_job
from routing.campaign_routing.names import JURY_TASK, LLM_QUEUE, LOCAL_JUDGE, ROUTE_TASK
from routing.campaign_routing.requests import RoutingRefused, routable_annotators, start_routing_job
from routing.campaign_routing.route_job import run_routing_job
from routing.campaign_routing.selectors import decision_counts, latest_routing_run

__all__ = [
    "JURY_TASK",
    "LLM_QUEUE",
    "LOCAL_JUDGE",
    "ROUTE_TASK",
    "RoutingRefused",
    "decision_counts",
    "latest_routing_run",
    "routable_annotators",
    "run_jury_label_job",
    "run_routing_job",
    "start_routing_job",
]
