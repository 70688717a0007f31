"""Assess: watchlists, early warning and the alerts they raise (grouped, triaged, delivered)."""
