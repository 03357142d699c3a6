"""Card templates for datasets and models."""
