"""Analyze: structured analysis over stored intelligence (graph, timeline, geo, ACH)."""
