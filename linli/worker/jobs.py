"""The jobs `linli worker` runs, each a plain function taking no arguments, and how often.

Every job is idempotent and safe to run in two workers at once (row locks or unique keys in the
job itself), and catches up on what fell due while no worker ran: a restart loses nothing. The
gateway keeps the device-side work (health watch, rule timers, alarm escalation, command
sending, notification delivery) where a device's event wakes it at once.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Job:
    name: str
    target: str  # "module:function"
    every_s: float


JOBS: tuple[Job, ...] = (
    Job("workorder-sla", "linli.workorders.sla:escalate_due", 30.0),
    Job("notice-publisher", "linli.notices.services:publish_due", 30.0),
    Job("visitor-expiry", "linli.visitors.services:expire_due", 60.0),
    Job("vote-closer", "linli.votes.services:close_due_votes", 60.0),
    Job("survey-closer", "linli.surveys.services:close_due_surveys", 60.0),
    Job("payment-recovery", "linli.billing.online:recover_lost_payments", 120.0),
    Job("parcel-reminders", "linli.parcels.services:remind_overdue", 300.0),
    Job("arrears-reminders", "linli.billing.reminders:remind_arrears", 3600.0),
    Job("payment-reconciliation", "linli.billing.online:reconcile_statements", 3600.0),
    Job("tenancy-expiry", "linli.rentals.services:end_expired_tenancies", 3600.0),
)
