"""Use cases over the repositories and the clock, called by handlers, the CLI and the scheduler. No telegram."""
