"""Evaluation: the local seqeval evaluate module, scoring and the leaderboard."""
