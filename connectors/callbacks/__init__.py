"""What on-call does in their own tools comes back to Vigil: button clicks in Slack and
Discord alerts and PagerDuty's acknowledge / resolve / reassign, verified and written as
``incidents.actions`` and ``moderation.feedback`` records (``vigil notify`` serves them)."""
