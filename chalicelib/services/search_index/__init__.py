"""The search index: footage analysed once as it is stored, searched without decoding.

``records`` (one record per person track and segment, the partition keys), ``parquet`` (the records as
Parquet), ``store`` (partitions by model, camera and hour in object storage), ``tracking`` (sightings of
one segment → tracks), ``indexer`` (a stored segment → records, one detector pass shared with monitoring),
``query`` (a search query against the records of a cone).
"""
