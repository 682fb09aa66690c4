"""Plans, the caller's subscription, subscribing and canceling (with payments)."""
