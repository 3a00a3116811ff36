"""HTTP API blueprints; app.py registers them. Views stay thin: parse, call a service, shape."""
