"""Models that read a frontend's features: encoders and task heads."""
