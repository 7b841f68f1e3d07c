"""Scoring: WER for ASR (asr.py), accuracy/mAP/bootstrap for classification (classify.py)."""
