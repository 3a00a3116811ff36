"""pydantic v2 messages at every boundary: API bodies, queue messages, records, manifests."""
