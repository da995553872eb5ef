"""Billing (收费): fee items, bills, payments, refunds and the double-entry ledgers every domain posts to."""
