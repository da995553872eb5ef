"""Owners' votes (业主表决) under Civil Code Art. 278, suggestions (献计献策) and surveys."""
