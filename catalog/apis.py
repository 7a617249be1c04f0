"""Staff endpoints of the catalog that write: adding a Spotify track as a song."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.authentication import SessionAuthentication, TokenAuthentication
from rest_framework.permissions import IsAdminUser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from catalog.enrichment.add import INVALID_ID, song_add_from_spotify
from catalog.selectors import songs_for_display
from catalog.serializers import SongSerializer
from core.parsing import is_spotify_id


class SongFromSpotifyInputSerializer(serializers.Serializer):
    spotify_id = serializers.CharField(help_text="The track's 22-character Spotify id.")

    def validate_spotify_id(self, value: str) -> str:
        if not is_spotify_id(value):
            raise serializers.ValidationError(INVALID_ID.removeprefix("spotify_id: "))
        return value


class SongFromSpotifyApi(APIView):
    """``POST /api/songs/from-spotify/``: add a Spotify track to the catalog (idempotent)."""

    # Token first: an anonymous caller gets 401 with a WWW-Authenticate challenge, not 403.
    authentication_classes = [TokenAuthentication, SessionAuthentication]
    permission_classes = [IsAdminUser]
    error_responses = {
        404: "Spotify has no track with this id (`spotify_not_found`).",
        429: "Spotify's rate limit (or Encore's share of it) is reached; `Retry-After` says "
        "when to try again (`spotify_rate_limited`).",
        502: "Spotify answered with an error, or a track that cannot be stored.",
        503: "Spotify is not configured (`spotify_not_configured`) or unavailable right now "
        "(`spotify_unavailable`).",
    }

    @extend_schema(
        summary="Add a Spotify track to the catalog",
        description=(
            "Staff only. Reads the track from Spotify and writes it through the catalog's "
            "upsert with the `matched` status, decided by hand by the caller. 201 with the new "
            "song; 200 with the song that already has this Spotify id (Spotify is not asked)."
        ),
        request=SongFromSpotifyInputSerializer,
        responses={201: SongSerializer, 200: SongSerializer},
    )
    def post(self, request: Request) -> Response:
        data = SongFromSpotifyInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        song, created = song_add_from_spotify(
            spotify_id=data.validated_data["spotify_id"], user=request.user
        )
        shown = songs_for_display().get(pk=song.pk)
        return Response(
            SongSerializer(shown).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )
