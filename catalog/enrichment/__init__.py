"""Catalog enrichment from Spotify."""
