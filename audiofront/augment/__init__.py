"""Data augmentation: SpecAugment (feature and STFT domain) and speed perturbation."""
