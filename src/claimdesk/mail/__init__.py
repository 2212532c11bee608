"""E-mail to ticket contacts and account owners, rendered from templates and sent by the worker."""
