"""Handlers only admins use: rounds, access, places, national statistics, invitations."""
