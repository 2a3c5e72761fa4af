"""Cost tracking: one usage record per LLM or embedding call, summed per journey."""
