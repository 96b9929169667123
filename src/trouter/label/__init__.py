"""Candidate labeling: prompts, answers, scores and costs for every (query, model)."""
