"""Handlers an estate manager (and an admin) uses: the dashboard, broadcasts."""
