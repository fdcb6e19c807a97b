"""The injected tasks T_CMP and T_ADD over a set S of tokens (formats are this book's choice).

An instance is three token ids TOK1 TOK2 LABEL with TOK1, TOK2 in S; all |S|^2 ordered pairs
are generated and split 50/50 into train and test with the seed.

- T_CMP: a hidden random order of S; LABEL is whichever of TOK1, TOK2 comes later in it
  (LABEL = TOK1 when they are equal).
- T_ADD: a hidden random bijection of S onto the residues 0..|S|-1; LABEL is the token whose
  residue is the sum of theirs modulo |S|.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from rtrlib.params import ParameterError, require_choice, require_int

__all__ = ["Task", "make_task", "sample_task_tokens", "TASK_KINDS"]

TASK_KINDS = ("cmp", "add")


@dataclasses.dataclass(frozen=True)
class Task:
    """One task over ``tokens`` (= S). ``rank[i]`` is the hidden position of ``tokens[i]``:
    its place in the order (cmp) or its residue (add)."""

    kind: str
    tokens: np.ndarray
    rank: np.ndarray
    train: np.ndarray
    test: np.ndarray

    @property
    def size(self) -> int:
        return len(self.tokens)

    @property
    def all(self) -> np.ndarray:
        """Every instance (train, then test); in a dry run a subset with every label."""
        from rtrlib.dry import cover_labels

        return cover_labels(np.concatenate([self.train, self.test]))

    def rank_of(self, token_ids: np.ndarray) -> np.ndarray:
        """The hidden rank (order position or residue) of each token id in S."""
        lookup = dict(zip(self.tokens.tolist(), self.rank.tolist(), strict=True))
        return np.array([lookup[int(t)] for t in np.ravel(token_ids)]).reshape(
            np.shape(token_ids))


def make_task(kind: str, tokens, seed: int) -> Task:
    """Build T_CMP (``kind="cmp"``) or T_ADD (``kind="add"``) over the token ids ``tokens``.

    Returns a :class:`Task` whose ``train`` and ``test`` are int64 arrays of shape (n, 3)
    holding TOK1, TOK2, LABEL; the |S|^2 ordered pairs are split 50/50 with ``seed``.
    """
    require_choice("kind", kind, TASK_KINDS)
    require_int("seed", seed, 0)
    toks = np.asarray(tokens, dtype=np.int64).ravel()
    if len(toks) < 2:
        raise ParameterError("tokens", list(toks), "at least two tokens")
    if len(np.unique(toks)) != len(toks):
        raise ParameterError("tokens", list(toks), "distinct token ids")
    n = len(toks)
    rng = np.random.default_rng([seed, 0 if kind == "cmp" else 1])
    rank = rng.permutation(n)  # hidden order position / residue of tokens[i]
    i, j = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
    i, j = i.ravel(), j.ravel()
    if kind == "cmp":
        label_idx = np.where(rank[j] > rank[i], j, i)
    else:
        by_residue = np.argsort(rank)  # by_residue[r] = index of the token with residue r
        label_idx = by_residue[(rank[i] + rank[j]) % n]
    pairs = np.stack([toks[i], toks[j], toks[label_idx]], axis=1)
    perm = rng.permutation(len(pairs))
    half = len(pairs) // 2
    return Task(kind=kind, tokens=toks, rank=rank, train=pairs[np.sort(perm[:half])],
                test=pairs[np.sort(perm[half:])])


def sample_task_tokens(vocab_size: int, size: int, seed: int, exclude=(0,),
                       lo: int = 256, stream: int = 2) -> np.ndarray:
    """Draw S: ``size`` distinct ids from ``[lo, vocab_size)`` (merged BPE tokens by default),
    never an id in ``exclude`` (the end-of-document token); ``stream`` names an independent
    random stream for the same seed (the control task's tokens use another one)."""
    pool = np.setdiff1d(np.arange(lo, vocab_size), np.asarray(exclude))
    require_int("size", size, 2, len(pool))
    rng = np.random.default_rng([seed, stream])
    return np.sort(rng.choice(pool, size=size, replace=False))
