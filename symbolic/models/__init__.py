"""Trained symbolic models: their architectures, checkpoints and training loops (torch is imported lazily)."""
