"""Reusable constructs: a queue with its DLQ, a least-privilege function, and the alarms around both."""
