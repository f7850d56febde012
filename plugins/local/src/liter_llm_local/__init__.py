"""In-process local models (llama.cpp) for liter-llm."""
