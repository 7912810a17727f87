"""Embedding vectors kept between runs: one per paper and one per topic text, per model."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np

from newsletter.rank.base import Vector
from newsletter.store.schema import embeddings, insert_ignore

if TYPE_CHECKING:
    from newsletter.store import Store


class EmbeddingCache:
    """A `VectorCache` backed by the `embeddings` table."""

    def __init__(self, store: Store, kind: str, model: str) -> None:
        self._store = store
        self._kind = kind
        self._model = model

    def get_many(self, keys: Sequence[str]) -> dict[str, Vector]:
        found: dict[str, Vector] = {}
        unique = list(dict.fromkeys(keys))
        with self._store.read() as conn:
            for start in range(0, len(unique), 500):
                query = embeddings.select().where(
                    embeddings.c.kind == self._kind,
                    embeddings.c.model == self._model,
                    embeddings.c.key.in_(unique[start : start + 500]),
                )
                for row in conn.execute(query).mappings():
                    found[row["key"]] = np.frombuffer(row["vector"], dtype=np.float32)
        return found

    def put_many(self, vectors: Mapping[str, Vector]) -> None:
        if not vectors:
            return
        rows = [
            {
                "kind": self._kind,
                "model": self._model,
                "key": key,
                "vector": np.asarray(vector, dtype=np.float32).tobytes(),
            }
            for key, vector in vectors.items()
        ]
        with self._store.write() as conn:
            insert_ignore(conn, embeddings, rows)
