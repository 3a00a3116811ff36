"""Missing-person search over stored CCTV footage.

``planner`` (space-time cone → balanced shards), ``shard`` (the worker's frame loop and runner),
``reducer`` (merge, tracks, ranking, route), ``service`` (what the API calls), ``stages`` (models).
"""
