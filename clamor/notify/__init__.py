"""Notifications: an outbox table that services fill and later deliverers (e-mail, webhooks)
drain."""
