"""The types the agent works with and its pure decisions: no I/O."""
