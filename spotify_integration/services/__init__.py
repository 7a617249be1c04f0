"""Writes for the Spotify integration, one role per module.

* :mod:`.connections`: a user's connection and its tokens (create or renew, refreshed tokens,
  needs-reauth, disconnect, key rotation), and the client's token store over those rows.
* :mod:`.oauth`: connecting an account (start, the one-time state, completing the callback).

Views, admin actions and commands call these; none of them holds the rules.
"""
