"""Task names, queues and sizes shared by the routing job's modules."""

from __future__ import annotations

ROUTE_TASK = "routing.llm.route_campaign"
JURY_TASK = "routing.llm.label_with_jury"
LLM_QUEUE = "llm"
LOCAL_JUDGE = "local-judge"
CURVE_POINTS = 21
DECISION_BATCH = 1000
