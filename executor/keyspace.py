"""The names of the product's own Redis keys: one family per RQ queue.

The default queue (``alerts``) keeps the plain ``executor:`` names. Any other queue (the demo's, or a
second deployment's on the same Redis) has its keys under ``executor:<queue>:``, so two of them never share
a lane, the index of lanes or a deduplication key, just as RQ keeps their queues and registries apart.
Rate-limit keys are not in a family: they belong to the venue credential, whichever queue uses it.
"""
from __future__ import annotations

DEFAULT_QUEUE_NAME = "alerts"


def key_prefix(queue_name: str) -> str:
    return "executor:" if queue_name == DEFAULT_QUEUE_NAME else f"executor:{queue_name}:"
