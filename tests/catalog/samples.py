"""Import file rows shared by the catalog's tests."""

HEADER = "title,artists,album,duration_ms,isrc,release_date,explicit,spotify_id\n"
GOOD = (
    HEADER + "Bohemian Rhapsody,Queen,A Night at the Opera,354000,GBUM71029604,1975-10-31,false,"
    "4u7EnebtmKWzUH433cf5Qv\n"
    + "Crazy in Love,Beyoncé; JAY-Z,Dangerously in Love,236000,USSM10300080,2003,true,\n"
    + "Hoppípolla,Sigur Rós,Takk...,268000,,2005-09,,\n"
)
