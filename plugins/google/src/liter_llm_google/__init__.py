"""Google Gemini API and Vertex AI provider for liter-llm."""
