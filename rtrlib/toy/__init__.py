"""The synthetic task mixture and the batched training engine (see issue 3)."""
