"""Ranking: score every subscriber topic against every paper, and say why a paper matched."""

from newsletter.rank.base import Matrix, MemoryVectorCache, Scorer, Vector, VectorCache
from newsletter.rank.lexical import LexicalScorer
from newsletter.rank.reading import excluded
from newsletter.rank.semantic import HybridScorer, SemanticScorer, make_scorer

__all__ = [
    "HybridScorer",
    "LexicalScorer",
    "Matrix",
    "MemoryVectorCache",
    "Scorer",
    "SemanticScorer",
    "Vector",
    "VectorCache",
    "excluded",
    "make_scorer",
]
