"""Exported annotator ids: stable within a campaign, unlinkable across campaigns."""

from __future__ import annotations

import re

from annotate.selectors import pseudonym_of


def test_pseudonym_is_a_keyed_hash_not_the_user_id(settings):
    settings.PSEUDONYM_KEY = "key-one"
    pseudonym = pseudonym_of(campaign_id=1, user_id=7)
    assert re.fullmatch(r"ann-[0-9a-f]{12}", pseudonym)


def test_pseudonym_is_stable_within_a_campaign(settings):
    settings.PSEUDONYM_KEY = "key-one"
    assert pseudonym_of(campaign_id=3, user_id=7) == pseudonym_of(campaign_id=3, user_id=7)


def test_the_same_annotator_has_different_pseudonyms_in_two_campaigns(settings):
    settings.PSEUDONYM_KEY = "key-one"
    assert pseudonym_of(campaign_id=3, user_id=7) != pseudonym_of(campaign_id=4, user_id=7)
    assert pseudonym_of(campaign_id=3, user_id=7) != pseudonym_of(campaign_id=3, user_id=8)


def test_pseudonyms_depend_on_the_key(settings):
    settings.PSEUDONYM_KEY = "key-one"
    first = pseudonym_of(campaign_id=3, user_id=7)
    settings.PSEUDONYM_KEY = "key-two"
    assert pseudonym_of(campaign_id=3, user_id=7) != first
