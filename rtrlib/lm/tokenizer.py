"""A byte-level BPE tokenizer trained on the background corpus, and the tokenised stream.

Two paths, one result type (:class:`TokenData`):

- in memory (``python-docs``, ``stdlib``, ``auto``, ``hf``: the CPU book's few MB): the corpus
  text is assembled, the tokenizer trained on it and the stream cached through
  :mod:`rtrlib.store`, keyed by the config and the corpus SHA-256, so a corpus that changes
  underneath (a Debian point release) is retrained;
- streamed (``files``: GPU runners, any size): :mod:`rtrlib.lm.tokens` tokenises the files once
  into a memory-mapped token file reused across runs.

The tokenizer is trained on at most ``train_chars`` characters, the first of the corpus.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

import numpy as np
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

from rtrlib.codec import storable
from rtrlib.lm.corpus import Corpus, CorpusConfig, load_corpus
from rtrlib.params import require_int
from rtrlib.store import KeyedConfig, Store, cached

__all__ = ["EOD", "TokenizerConfig", "train_tokenizer", "train_tokenizer_on", "token_dtype",
           "TokenData", "load_token_data"]

EOD = "<|endoftext|>"
MAX_VOCAB = 2**20


@dataclasses.dataclass(frozen=True)
class TokenizerConfig(KeyedConfig):
    """The corpus, the vocabulary size, and how many characters (the first) train the BPE."""

    corpus: CorpusConfig = CorpusConfig()
    vocab_size: int = 2048
    train_chars: int = 16_000_000

    def __post_init__(self) -> None:
        require_int("vocab_size", self.vocab_size, 300, MAX_VOCAB)
        require_int("train_chars", self.train_chars, 1000)

    def keyed(self) -> dict:
        return {"corpus": self.corpus.keyed(), "vocab_size": self.vocab_size,
                "train_chars": self.train_chars}


def token_dtype(vocab_size: int) -> np.dtype:
    """uint16 when every id fits (``vocab_size <= 2**16``), else uint32 (OLMo-core's rule)."""
    return np.dtype(np.uint16 if vocab_size <= 2**16 else np.uint32)


def train_tokenizer_on(docs: Iterable[str], vocab_size: int) -> Tokenizer:
    """Train a byte-level BPE on the documents ``docs`` with ``vocab_size`` entries (``EOD`` is
    id 0)."""
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=[EOD],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                  show_progress=False)
    docs = docs if isinstance(docs, list) else list(docs)
    tok.train_from_iterator(docs, trainer=trainer, length=len(docs))
    return tok


def train_tokenizer(corpus: Corpus, vocab_size: int, train_chars: int | None = None) -> Tokenizer:
    """Train on the paragraphs of ``corpus`` (its first ``train_chars`` characters)."""
    text = corpus.text if train_chars is None else corpus.text[:train_chars]
    return train_tokenizer_on(text.split("\n\n"), vocab_size)


@storable
@dataclasses.dataclass(frozen=True)
class TokenData:
    """The tokenised background stream (documents joined by ``EOD``) and its provenance.

    ``tokens`` is a 1-D integer array: in memory for the in-memory sources, a read-only
    ``np.memmap`` of ``token_file`` (OLMo-core's raw numpy format) for ``source="files"``."""

    tokens: np.ndarray  # uint16 (uint32 above 2**16 entries), 1-D
    tokenizer_json: str
    corpus_meta: dict
    vocab_size: int
    token_file: str = ""

    @property
    def eod_id(self) -> int:
        return 0

    @property
    def n_tokens(self) -> int:
        return int(self.tokens.shape[0])

    def tokenizer(self) -> Tokenizer:
        return Tokenizer.from_str(self.tokenizer_json)


def load_token_data(cfg: TokenizerConfig, store: Store | None = None, *,
                    progress: bool = True) -> TokenData:
    """Corpus -> tokenizer -> token stream, cached (the corpus hash or files are in the key).

    ``source="files"`` streams into a token file (:func:`rtrlib.lm.tokens.load_token_file`,
    with a progress bar unless ``progress=False``); the other sources work in memory."""
    store = store or Store()
    if cfg.corpus.resolved_source() == "files":
        from rtrlib.lm.tokens import load_token_file

        return load_token_file(cfg, store, progress=progress)
    corpus = load_corpus(cfg.corpus, store)

    def compute() -> TokenData:
        tok = train_tokenizer(corpus, cfg.vocab_size, cfg.train_chars)
        docs = [d for d in corpus.text.split("\n\n") if d.strip()]
        eod = tok.token_to_id(EOD)
        ids: list[int] = []
        for enc in tok.encode_batch(docs):
            ids.extend(enc.ids)
            ids.append(eod)
        return TokenData(tokens=np.asarray(ids, dtype=token_dtype(tok.get_vocab_size())),
                         tokenizer_json=tok.to_str(), corpus_meta=dict(corpus.meta),
                         vocab_size=tok.get_vocab_size())

    key_cfg = {"tokenizer": cfg.keyed(), "sha256": corpus.meta["sha256"]}
    return cached("lm-tokens", key_cfg, compute, store=store)
