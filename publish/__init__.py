"""Publishing silver datasets and student models to a Hugging Face Hub."""
