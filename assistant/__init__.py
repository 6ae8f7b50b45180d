"""assistant: turn a team's documents into a local assistant (RAG, SFT, or both) and compare them."""

__version__ = "0.1.0"
