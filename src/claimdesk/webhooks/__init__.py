"""Webhook endpoints and signed, retried deliveries of ticket events."""
