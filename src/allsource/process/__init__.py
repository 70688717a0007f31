"""Processing: the stages that turn collected text into typed, linked facts with provenance."""
