"""Stored assistant versions load as the build that stored them ran them."""

import uuid

from app.chat.composer import ComposerConfig
from app.chat.versions import default_config, loaded


def test_a_version_stored_before_the_preceding_cue_ranks_as_it_did() -> None:
    stored = default_config()
    assert stored["composer"]["preceding_weight"] == ComposerConfig().preceding_weight > 0
    del stored["composer"]["preceding_weight"]
    old = loaded(uuid.uuid4(), 1, stored)
    assert old.composer.preceding_weight == 0.0
    assert old.composer.passage_match_weight == ComposerConfig().passage_match_weight
    assert loaded(uuid.uuid4(), 2, default_config()).composer == ComposerConfig()
