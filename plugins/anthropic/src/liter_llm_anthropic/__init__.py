"""Anthropic (Messages API) provider for liter-llm."""
