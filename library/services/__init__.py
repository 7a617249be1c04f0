"""The library's services: syncing playlists and plays, the export import, the schedule."""
