"""The staff console: the web pages where support staff work tickets, and the services behind them (the work
queue, search, bulk actions, the ticket desk's context and the dashboard)."""
