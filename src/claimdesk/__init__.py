"""claimdesk: complaint (ticket) service for print suppliers and their resellers."""

__version__ = "0.1.0"
