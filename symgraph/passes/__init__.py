"""Graph rewrites: named passes run in one ordered pipeline (``pipeline.PIPELINE``)."""
