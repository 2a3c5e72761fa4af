"""The local LLM (Ollama chat) and its availability."""
