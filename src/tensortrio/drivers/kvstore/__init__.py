"""drivers/kvstore."""
