"""newsletter: trending ML papers, matched to each subscriber's topics."""

__version__ = "0.1.0"
