"""What public channels receive: a redacted summary (:mod:`.summary`), its text per channel, and
the Instagram card (:mod:`.card`) served to Meta by :mod:`.views`."""

from bridge.public.card import CARD_SIZE, CardText, card_text, render_card
from bridge.public.summary import (
    CARD_PATH,
    PublicSummary,
    card_url,
    fit_words,
    public_payload,
    public_summary,
    public_text,
)

__all__ = [
    "CARD_PATH",
    "CARD_SIZE",
    "CardText",
    "PublicSummary",
    "card_text",
    "card_url",
    "fit_words",
    "public_payload",
    "public_summary",
    "public_text",
    "render_card",
]
