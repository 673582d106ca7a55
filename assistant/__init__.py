"""Turns a question into a cited answer or an escalation to a human (issue 3)."""
