"""The scaled-down OLMo task-injection run (see issue 5)."""
