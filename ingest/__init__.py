"""Turns raw service knowledge (manuals, recalls, FAQs, bulletins) into chunks in the store."""
