"""Data: corpus preparation, lhotse datasets and samplers."""
