"""Linli (邻里): smart-community platform for renovated old residential compounds."""

__version__ = "0.1.0"
