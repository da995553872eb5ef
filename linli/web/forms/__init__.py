"""Console forms: they shape and check input; the services decide and write."""
