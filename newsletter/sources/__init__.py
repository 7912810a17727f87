"""Network sources: one module per site, each fetching with an httpx client passed in."""
