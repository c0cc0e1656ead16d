"""Notifier sinks: escalations to on-call tools (PagerDuty, Slack, Discord, webhooks)."""
