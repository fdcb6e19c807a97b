"""A byte-level BPE tokenizer trained on the background corpus, and the tokenised stream.

Both are cached through :mod:`rtrlib.store`, keyed by the corpus config, the vocabulary size and
the corpus SHA-256, so a corpus that changes underneath (a Debian point release) is retrained.
"""

from __future__ import annotations

import dataclasses

import numpy as np
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

from rtrlib.codec import storable
from rtrlib.lm.corpus import Corpus, CorpusConfig, load_corpus
from rtrlib.params import require_int
from rtrlib.store import Store, cached

__all__ = ["EOD", "TokenizerConfig", "train_tokenizer", "TokenData", "load_token_data"]

EOD = "<|endoftext|>"


@dataclasses.dataclass(frozen=True)
class TokenizerConfig:
    corpus: CorpusConfig = CorpusConfig()
    vocab_size: int = 2048

    def __post_init__(self) -> None:
        require_int("vocab_size", self.vocab_size, 300, 2**16 - 1)


def train_tokenizer(corpus: Corpus, vocab_size: int) -> Tokenizer:
    """Train a byte-level BPE on ``corpus`` with ``vocab_size`` entries (``EOD`` is id 0)."""
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=[EOD],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                  show_progress=False)
    docs = corpus.text.split("\n\n")
    tok.train_from_iterator(docs, trainer=trainer, length=len(docs))
    return tok


@storable
@dataclasses.dataclass(frozen=True)
class TokenData:
    """The tokenised background stream (documents joined by ``EOD``) and its provenance."""

    tokens: np.ndarray  # uint16, 1-D
    tokenizer_json: str
    corpus_meta: dict
    vocab_size: int

    @property
    def eod_id(self) -> int:
        return 0

    def tokenizer(self) -> Tokenizer:
        return Tokenizer.from_str(self.tokenizer_json)


def load_token_data(cfg: TokenizerConfig, store: Store | None = None) -> TokenData:
    """Corpus -> tokenizer -> token stream, cached (the corpus hash is part of the key)."""
    store = store or Store()
    corpus = load_corpus(cfg.corpus, store)

    def compute() -> TokenData:
        tok = train_tokenizer(corpus, cfg.vocab_size)
        docs = [d for d in corpus.text.split("\n\n") if d.strip()]
        eod = tok.token_to_id(EOD)
        ids: list[int] = []
        for enc in tok.encode_batch(docs):
            ids.extend(enc.ids)
            ids.append(eod)
        return TokenData(tokens=np.asarray(ids, dtype=np.uint16), tokenizer_json=tok.to_str(),
                         corpus_meta=dict(corpus.meta), vocab_size=tok.get_vocab_size())

    key_cfg = {"tokenizer": cfg, "sha256": corpus.meta["sha256"]}
    return cached("lm-tokens", key_cfg, compute, store=store)
