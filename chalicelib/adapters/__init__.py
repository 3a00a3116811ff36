"""boto3-backed implementations of chalicelib.ports. The only package that imports boto3."""
