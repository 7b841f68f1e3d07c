"""Text units for ASR: tokenizers (sentencepiece BPE or characters) and lexicons."""
