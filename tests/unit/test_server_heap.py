"""A serving process moves what start-up built out of the collector's generations and collects young objects
less often (bench row 6); both must be undone-able so this test leaves the test process as it found it."""

from __future__ import annotations

import gc

from ngc_registry.server.__main__ import YOUNG_COLLECTION_THRESHOLD, frozen_heap


def test_frozen_heap_freezes_what_exists_and_raises_the_young_threshold():
    threshold = gc.get_threshold()
    app = object()
    try:
        assert frozen_heap(app) is app
        assert gc.get_freeze_count() > 10_000
        assert gc.get_threshold()[0] == YOUNG_COLLECTION_THRESHOLD
    finally:
        gc.unfreeze()
        gc.set_threshold(*threshold)
