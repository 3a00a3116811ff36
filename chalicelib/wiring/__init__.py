"""Composition root: the one place that builds services from settings and AWS adapters.

One builder per service; handlers, the API container, the admin CLI and the local platform call
these and nothing else constructs a service with its adapters. ``services/`` never imports this
package, and ``adapters/`` sits below both.
"""
