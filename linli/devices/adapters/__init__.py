"""Vendor adapters: one module per device protocol, each turning a pushed message into events."""
