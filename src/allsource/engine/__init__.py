"""Engines run a pipeline's phases over batches: inline (this process) or on a local process
pool. Every engine gives the same result for the same input."""
