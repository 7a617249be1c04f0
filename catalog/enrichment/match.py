"""Matching services: match one song against Spotify, and a person's review decisions.

``song_match`` asks Spotify (through the client it is handed) and writes the decision, its
evidence and, for a match, the song's Spotify fields; ``song_match_accept`` and
``song_match_reject`` are what an operator's review does. Each writes one song in one
transaction, and running any of them twice leaves the same rows.

Rules:
- A decision a person made (``SongMatch.manual``) is never changed by an automatic run.
- A Spotify id is never taken from another row: a track another song already has, or one that
  differs from the Spotify id the song already carries (unless Spotify dropped that one:
  ``gone``), sends the song to review instead; an
  artist's or album's Spotify id is set only when the row has none, its name agrees, and no
  other row holds it.
- Spotify fields are written by a match only; a later ``needs_review`` or ``no_match`` leaves
  what a match (or an import) wrote.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, cast

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from rapidfuzz import fuzz

from catalog.enrichment.matching import (
    MATCHED,
    NEEDS_REVIEW,
    NO_MATCH,
    Candidate,
    LocalSong,
    MatchOutcome,
    Thresholds,
    match_song,
)
from catalog.enrichment.titles import parse_title
from catalog.models import Album, Artist, MatchStatus, Song, SongMatch
from catalog.normalize import normalize
from core.exceptions import Conflict, ValidationFailed
from core.metrics import record_match_decision

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser, AnonymousUser, User

    from spotify_integration.client import SpotifyClient

    Reviewer = AbstractBaseUser | AnonymousUser | None

logger = logging.getLogger("encore.enrichment")
NAME_AGREES = 90  # rapidfuzz ratio for an artist's or album's name to be "the same"


def match_thresholds() -> Thresholds:
    """The thresholds from settings (SPOTIFY_MATCH_ACCEPT, _MARGIN, _FLOOR)."""
    return Thresholds(
        accept=settings.SPOTIFY_MATCH_ACCEPT,
        margin=settings.SPOTIFY_MATCH_MARGIN,
        floor=settings.SPOTIFY_MATCH_FLOOR,
    )


def _songs_for_matching() -> Any:
    return Song.objects.select_related("album").prefetch_related("song_artists__artist")


def song_match(
    *, song: Song, client: SpotifyClient, thresholds: Thresholds | None = None
) -> MatchOutcome | None:
    """Find ``song`` on Spotify and store the decision; None when a person decided it already.

    Searching happens outside the transaction (it may wait on the rate budget); the write
    re-reads the song under a row lock, so a review made meanwhile wins.
    """
    if SongMatch.objects.filter(song_id=song.pk, manual=True).exists():
        return None
    local = LocalSong.from_song(song)
    outcome = match_song(
        local,
        search=lambda q: client.search_tracks(query=q, limit=10)["items"],
        thresholds=thresholds or match_thresholds(),
    )
    with transaction.atomic():
        locked = _songs_for_matching().select_for_update(of=("self",)).get(pk=song.pk)
        if SongMatch.objects.filter(song_id=song.pk, manual=True).exists():
            return None
        evidence = outcome.evidence()
        status = outcome.status
        gone = _gone_id(locked)
        if status == MATCHED and outcome.best is not None:
            refusal = _write_match(locked, outcome.best.candidate, gone=gone)
            if refusal:
                status = NEEDS_REVIEW
                evidence["status"] = status
                evidence["notes"] = [refusal]
        if gone and status != MATCHED:
            evidence["gone_spotify_id"] = gone  # the status no longer says it; a review needs it
        _record(locked, status=status, confidence=outcome.confidence, evidence=evidence)
    outcome.status = status
    record_match_decision(status)
    logger.info(
        "song matched",
        extra={"song_id": song.pk, "outcome": status, "confidence": outcome.confidence,
               "queries": len(outcome.queries)},
    )  # fmt: skip
    return outcome


def song_match_accept(*, song: Song, spotify_id: str, user: Reviewer) -> None:
    """A reviewer accepts the candidate ``spotify_id`` of the song's stored evidence."""
    with transaction.atomic():
        locked = _songs_for_matching().select_for_update(of=("self",)).get(pk=song.pk)
        stored = SongMatch.objects.filter(song_id=song.pk).first()
        evidence: dict[str, Any] = dict(stored.evidence) if stored else {}
        chosen = next(
            (c for c in evidence.get("candidates", []) if c.get("spotify_id") == spotify_id),
            None,
        )
        if chosen is None:
            raise ValidationFailed(
                "spotify_id: not one of the song's candidates",
                detail={"song_id": song.pk, "spotify_id": spotify_id},
            )
        candidate = Candidate.from_dict({k: chosen.get(k) for k in Candidate.__dataclass_fields__})
        refusal = _write_match(locked, candidate, gone=_gone_id(locked))
        if refusal:
            raise Conflict(refusal, detail={"song_id": song.pk, "spotify_id": spotify_id})
        evidence["decision"] = {"accepted": spotify_id, "by": _username(user)}
        _record(
            locked, status=MATCHED, confidence=chosen.get("score"), evidence=evidence,
            manual=True, user=user,
        )  # fmt: skip


def song_match_reject(*, song: Song, user: Reviewer) -> None:
    """A reviewer rejects every candidate: the song is not on Spotify (kept by later runs).

    A song still linked to one of the rejected tracks (an earlier automatic match) loses that
    link: a person said it is not this song's track.
    """
    with transaction.atomic():
        locked = Song.objects.select_for_update().get(pk=song.pk)
        stored = SongMatch.objects.filter(song_id=song.pk).first()
        evidence: dict[str, Any] = dict(stored.evidence) if stored else {}
        rejected = {c.get("spotify_id") for c in evidence.get("candidates", [])}
        if locked.spotify_id and locked.spotify_id in rejected:
            evidence["unlinked_spotify_id"] = locked.spotify_id
            Song.objects.filter(pk=locked.pk).update(
                spotify_id=None, spotify_uri=None, preview_url=None, spotify_synced_at=None
            )
        evidence["decision"] = {"rejected": True, "by": _username(user)}
        _record(locked, status=NO_MATCH, confidence=None, evidence=evidence, manual=True,
                user=user)  # fmt: skip


def song_match_set_by_hand(*, song: Song, user: Reviewer) -> None:
    """A person set or cleared the song's Spotify id by hand (the song admin): record it as a
    manual decision, so that automatic runs leave the song alone."""
    evidence: dict[str, Any] = {"decision": {"edited": song.spotify_id, "by": _username(user)}}
    status = MATCHED if song.spotify_id else NO_MATCH
    with transaction.atomic():
        locked = Song.objects.select_for_update().get(pk=song.pk)
        _record(locked, status=status, confidence=None, evidence=evidence, manual=True,
                user=user)  # fmt: skip


def _username(user: Reviewer) -> str | None:
    return user.get_username() if user is not None and user.is_authenticated else None


def _decider(user: Reviewer) -> User | None:
    return cast("User", user) if user is not None and user.is_authenticated else None


def _record(
    song: Song,
    *,
    status: str,
    confidence: float | None,
    evidence: dict[str, Any],
    manual: bool = False,
    user: Reviewer = None,
) -> None:
    now = timezone.now()
    SongMatch.objects.update_or_create(
        song=song,
        defaults={
            "status": status, "confidence": confidence, "evidence": evidence,
            "decided_at": now, "manual": manual, "decided_by": _decider(user),
        },
    )  # fmt: skip
    Song.objects.filter(pk=song.pk).update(
        match_status=MatchStatus(status), match_confidence=confidence, updated_at=now
    )


def _gone_id(song: Song) -> str | None:
    """The song's Spotify id if Spotify dropped that track: the ``gone`` status says so, or,
    once a later decision (review, no match) replaced that status, the stored evidence."""
    if not song.spotify_id:
        return None
    if song.match_status == MatchStatus.GONE:
        return song.spotify_id
    evidence = SongMatch.objects.filter(song_id=song.pk).values_list("evidence", flat=True).first()
    if isinstance(evidence, dict) and evidence.get("gone_spotify_id") == song.spotify_id:
        return song.spotify_id
    return None


def _write_match(song: Song, cand: Candidate, *, gone: str | None = None) -> str | None:
    """Write the candidate's Spotify fields on ``song`` (and ids on its main artist and
    album); a reason instead when the track may not be given to this song. ``gone``: the
    song's Spotify id when Spotify dropped that track (:func:`_gone_id`)."""
    # A track Spotify dropped (gone) may be replaced by the one found now; any other Spotify
    # id the song has (an import's, an earlier match's) is not overwritten.
    replaceable = song.spotify_id in (None, "", cand.spotify_id, gone)
    if not replaceable:
        return f"the song already has the Spotify id {song.spotify_id}"
    holder = Song.objects.filter(spotify_id=cand.spotify_id).exclude(pk=song.pk).first()
    if holder is not None:
        return f"another song (#{holder.pk}) has the Spotify id {cand.spotify_id}"
    now = timezone.now()
    fields: dict[str, Any] = {
        "spotify_id": cand.spotify_id, "spotify_uri": cand.uri, "spotify_synced_at": now,
        "updated_at": now,
    }  # fmt: skip
    if cand.album_image_url:
        fields["album_image_url"] = cand.album_image_url
    if cand.preview_url:
        fields["preview_url"] = cand.preview_url
    if not song.isrc and cand.isrc:
        fields["isrc"] = cand.isrc
    try:
        with transaction.atomic():  # a concurrent match of another song to the same track
            Song.objects.filter(pk=song.pk).update(**fields)
    except IntegrityError:
        return f"another song has the Spotify id {cand.spotify_id}"
    _link_artist(song, cand)
    _link_album(song, cand)
    return None


def _names_agree(a: str, b: str) -> bool:
    return fuzz.ratio(normalize(a), normalize(b)) >= NAME_AGREES


def _link_artist(song: Song, cand: Candidate) -> None:
    links = sorted(song.song_artists.all(), key=lambda link: link.position)
    if not links or not cand.artist_ids or not cand.artist_ids[0]:
        return
    artist = links[0].artist
    if artist.spotify_id or not _names_agree(artist.name, cand.artists[0]):
        return
    _set_spotify_id(Artist, artist.pk, cand.artist_ids[0])


def _link_album(song: Song, cand: Candidate) -> None:
    album = song.album if song.album_id else None
    if album is None or not cand.album_id or album.spotify_id or not cand.album:
        return
    if not _names_agree(parse_title(album.title).base, parse_title(cand.album).base):
        return
    _set_spotify_id(Album, album.pk, cand.album_id)
    if not album.image_url and cand.album_image_url:
        Album.objects.filter(pk=album.pk, image_url__isnull=True).update(
            image_url=cand.album_image_url
        )


def _set_spotify_id(model: type[Artist] | type[Album], pk: int, spotify_id: str) -> None:
    """Give the row ``spotify_id`` unless it has one or another row holds it."""
    if model.objects.filter(spotify_id=spotify_id).exists():
        return
    try:
        with transaction.atomic():
            model.objects.filter(pk=pk, spotify_id__isnull=True).update(spotify_id=spotify_id)
    except IntegrityError:
        pass  # taken by a concurrent writer in the meantime: theirs stands
