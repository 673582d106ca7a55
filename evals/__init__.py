"""Measures the assistant: faithfulness, citations, retrieval and escalation (issue 4)."""
