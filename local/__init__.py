"""The local platform: everything the cloud runs, on one machine (development only, never deployed)."""
