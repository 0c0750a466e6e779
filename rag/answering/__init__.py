"""Answer generation: the answerer interface and its implementations (extractive, openai)."""
