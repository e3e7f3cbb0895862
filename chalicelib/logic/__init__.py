"""The rules: passwords, sessions, accounts, tenants, notes, sync and fan-out."""
