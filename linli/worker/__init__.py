"""`linli worker`: the durable business jobs — deadlines, reminders, expiries, publications."""
