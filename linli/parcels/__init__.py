"""Parcels (快递): booth and locker registration, pickup codes, pickup and overdue reminders."""
