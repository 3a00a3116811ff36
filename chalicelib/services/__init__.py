"""Pure domain services: no boto3, no environment; adapters are passed in."""
