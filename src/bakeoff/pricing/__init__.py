"""API prices: an offline catalog (a dated models.dev snapshot) and the user's override file."""
