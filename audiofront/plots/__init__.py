"""Figures drawn from experiment files: learning curves, accuracy vs SNR, accuracy bars (`audiofront plot`)."""
