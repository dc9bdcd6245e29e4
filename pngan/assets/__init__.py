"""Shipped sample images (crops of public-domain photos bundled with scikit-image)."""
