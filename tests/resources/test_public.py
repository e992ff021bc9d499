"""What splice.resources offers is curated, sorted and importable."""

from __future__ import annotations

import splice.resources


def test_the_public_names_are_sorted_and_importable() -> None:
    assert splice.resources.__all__ == sorted(splice.resources.__all__)
    for name in splice.resources.__all__:
        assert getattr(splice.resources, name) is not None
