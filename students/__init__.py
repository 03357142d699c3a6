"""Teacher and student token-classification training."""
