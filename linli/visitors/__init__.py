"""Visitors (访客): residents' invitations with a one-time QR code, admission at the gate, walk-ins."""
