"""The data model shared by every stage: records, markings, identifiers and value types."""
