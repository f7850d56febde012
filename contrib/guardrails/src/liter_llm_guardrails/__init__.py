"""Ready-made request guardrails (on_request hooks) for liter-llm."""
