"""Video stages: segmenting recorded footage into HLS, HLS playlists, decode and analysis."""
