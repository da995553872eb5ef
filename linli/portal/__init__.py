"""The resident portal (居民端, H5): a mobile-first site under /m/ for residents and technicians."""
