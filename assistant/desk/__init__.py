"""The desk: conversations, tickets, feedback, agent accounts and insights, on SQL."""
