"""The supplier's Tickets guide as pure Python: no web framework, no database, no I/O."""
