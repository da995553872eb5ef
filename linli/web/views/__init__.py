"""Staff console pages, one module per area of the domain."""
