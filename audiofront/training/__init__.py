"""One trainer for every task: optimiser, schedule, checkpoints, resume, averaging and DDP."""
