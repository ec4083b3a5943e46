"""Use cases: what the handlers and the round keeper call, joining storage and the domain."""
