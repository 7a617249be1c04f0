HEADER = "title,artists,album,duration_ms,isrc,release_date,explicit,spotify_id\n"
