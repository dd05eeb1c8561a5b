"""Campaigns, the items in them, who labels what, and every label with its provenance.

Conventions used throughout:
- Each campaign asks the questions of its current :class:`TaskSchema` (a versioned list of
  :class:`Question` rows with their :class:`QuestionOption` scales). An answer is one
  :class:`AnswerValue` row per (annotation, question, response position, option).
- A pairwise preference is an integer on its question's own symmetric scale, e.g. 5-point
  ``A≫B (-2), A>B (-1), tie (0), B>A (1), B≫A (2)`` or HelpSteer2-Preference's -3..3;
  negative favours the response at ``position == 0``. Values are stored in response
  positions, never in the order an annotator saw them (display order is undone first).
- ``Annotation.overall_preference`` denormalises the schema's primary pairwise question
  for the hot paths (aggregation, exports, routing).
"""

from annotate.models.adjudication import Adjudication
from annotate.models.campaigns import (
    AggregationPolicy,
    Campaign,
    CampaignMembership,
    CampaignRole,
    CampaignStatus,
    GuidelineVersion,
)
from annotate.models.invites import Invite, InviteState
from annotate.models.items import Instance, QueueItem, QueueItemKind, Response, Route
from annotate.models.jobs import (
    ExportFile,
    ImportUpload,
    JobKind,
    JobRun,
    JobStatus,
    SchedulerHeartbeat,
)
from annotate.models.labels import Annotation, AnnotationSource, AnswerValue
from annotate.models.quality import (
    GoldAnswer,
    QualificationResult,
    QualityFlag,
    QualityRule,
    QualitySettings,
)
from annotate.models.tasks import (
    Question,
    QuestionKind,
    QuestionOption,
    QuestionTarget,
    TaskSchema,
)
from annotate.models.work import Assignment, AssignmentStatus, SkipReason

__all__ = [
    "Adjudication",
    "AggregationPolicy",
    "Annotation",
    "AnnotationSource",
    "AnswerValue",
    "Assignment",
    "AssignmentStatus",
    "Campaign",
    "CampaignMembership",
    "CampaignRole",
    "CampaignStatus",
    "GoldAnswer",
    "GuidelineVersion",
    "ExportFile",
    "ImportUpload",
    "Instance",
    "Invite",
    "InviteState",
    "JobKind",
    "JobRun",
    "JobStatus",
    "QualificationResult",
    "QualityFlag",
    "QualityRule",
    "QualitySettings",
    "Question",
    "QuestionKind",
    "QuestionOption",
    "QuestionTarget",
    "QueueItem",
    "QueueItemKind",
    "Response",
    "Route",
    "SchedulerHeartbeat",
    "SkipReason",
    "TaskSchema",
]
