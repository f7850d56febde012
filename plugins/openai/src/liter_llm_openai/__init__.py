"""OpenAI and every OpenAI-compatible provider for liter-llm."""
