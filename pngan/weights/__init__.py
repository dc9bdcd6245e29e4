"""Shipped reference weights (safetensors with model name and config in the metadata)."""
