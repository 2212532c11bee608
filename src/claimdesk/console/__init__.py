"""The staff console: the work queue, search, bulk actions, the ticket desk's context and the dashboard."""
