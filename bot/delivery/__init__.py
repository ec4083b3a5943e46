"""Bulk delivery: the durable outbox, a steady pacer, and the worker that sends."""
