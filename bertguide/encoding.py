"""What a tokenizer call returns, and how a pair of sequences is cut to fit.

Chapter: Tokenization. ``WordPieceTokenizer`` (in ``bertguide.tokenizer``) turns text
into ids; this module holds the two things both it and ``bertguide.offsets`` build
on, so that neither reaches into the other:

* ``BatchEncoding``: the dict of ``input_ids``, ``token_type_ids`` and
  ``attention_mask`` (B, T) a call returns, readable as attributes too, with the word
  and sequence of each token when offsets were asked for;
* ``truncate``: transformers' three truncation strategies for one sequence or a pair
  of sequences of ids, ``longest_first``, ``only_first`` and ``only_second``.

>>> from bertguide.tokenizer import WordPieceTokenizer
>>> batch = WordPieceTokenizer.from_pretrained()(["a cat", "the dog sat"], padding=True)
>>> type(batch).__name__, batch.input_ids.shape   # (B, T)
('BatchEncoding', torch.Size([2, 5]))
"""

from __future__ import annotations

import torch

from bertguide.checks import check_int


class BatchEncoding(dict):
    """``input_ids``, ``token_type_ids``, ``attention_mask`` (and more), as keys or attributes.

    With offsets or overflowing windows asked for, ``word_ids(i)`` and
    ``sequence_ids(i)`` say, for each token of row ``i``, its word (numbered in its
    sequence) and its sequence (0, 1, or None for special and padding tokens); the
    tokenizer passes them as ``word_ids`` and ``sequence_ids``, one list per row.

    >>> from bertguide.tokenizer import WordPieceTokenizer
    >>> tok = WordPieceTokenizer.from_pretrained()
    >>> batch = tok("Hi there", "Bye", return_offsets_mapping=True)
    >>> batch.input_ids.tolist(), batch["token_type_ids"].tolist()  # (B, T) each
    ([[101, 7632, 2045, 102, 9061, 102]], [[0, 0, 0, 0, 1, 1]])
    >>> batch.word_ids(0), batch.sequence_ids(0)
    ([None, 0, 1, None, 0, None], [None, 0, 0, None, 1, None])
    """

    def __init__(
        self,
        data: dict | None = None,
        *,
        word_ids: list[list[int | None]] | None = None,
        sequence_ids: list[list[int | None]] | None = None,
    ) -> None:
        super().__init__(data or {})
        self._word_ids = word_ids
        self._sequence_ids = sequence_ids

    def __getattr__(self, name: str):
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None

    def to(self, device) -> BatchEncoding:
        """Move every tensor to ``device`` (a new BatchEncoding)."""
        return BatchEncoding(
            {k: v.to(device) if isinstance(v, torch.Tensor) else v for k, v in self.items()},
            word_ids=self._word_ids,
            sequence_ids=self._sequence_ids,
        )

    def _row(self, name: str, rows, batch_index: int) -> list[int | None]:
        if rows is None:
            raise ValueError(
                f"{name} are known only when the tokenizer was called with "
                f"return_offsets_mapping=True or return_overflowing_tokens=True"
            )
        check_int("batch_index", batch_index)
        if not -len(rows) <= batch_index < len(rows):
            raise ValueError(f"batch_index must be in [0, {len(rows)}), got {batch_index}")
        return list(rows[batch_index])

    def word_ids(self, batch_index: int = 0) -> list[int | None]:
        """The word of each token of row ``batch_index`` (T,); None for special tokens."""
        return self._row("word_ids", self._word_ids, batch_index)

    def sequence_ids(self, batch_index: int = 0) -> list[int | None]:
        """0 (first text), 1 (text_pair) or None (special, padding) for each token (T,)."""
        return self._row("sequence_ids", self._sequence_ids, batch_index)


def truncate(
    ids: list[int], pair: list[int] | None, strategy: str, max_length: int, n_special: int
) -> tuple[list[int], list[int] | None]:
    """Cut ``ids`` (and ``pair``) so that with ``n_special`` special tokens they take at
    most ``max_length`` tokens; a ValueError when the strategy cannot.

    ``only_first`` and ``only_second`` cut the end of that sequence; ``longest_first``
    removes one token at a time from the longer sequence, from the second on a tie, as
    transformers' Python tokenizer does (so for an odd count the first keeps one more).

    >>> ids, pair = [1, 2, 3, 4, 5], [6, 7, 8]        # 5 + 3 ids, room for 5
    >>> truncate(ids, pair, "longest_first", max_length=8, n_special=3)
    ([1, 2, 3], [6, 7])
    >>> truncate(ids, pair, "only_first", max_length=8, n_special=3)
    ([1, 2], [6, 7, 8])
    """
    if max_length <= n_special:
        raise ValueError(
            f"max_length={max_length} leaves no room for text: the special tokens alone "
            f"take {n_special}; pass max_length >= {n_special + 1}"
        )
    excess = len(ids) + (len(pair) if pair is not None else 0) + n_special - max_length
    if excess <= 0:
        return ids, pair
    if pair is None and strategy == "only_second":
        raise ValueError("truncation='only_second' needs a text_pair")
    if pair is None or strategy == "only_first":
        if excess >= len(ids):
            raise ValueError(
                f"the first sequence has {len(ids)} tokens, too few to remove {excess}; "
                f"use truncation='longest_first' or a larger max_length"
            )
        return ids[: len(ids) - excess], pair
    if strategy == "only_second":
        if excess >= len(pair):
            raise ValueError(
                f"the second sequence has {len(pair)} tokens, too few to remove {excess}; "
                f"use truncation='longest_first' or a larger max_length"
            )
        return ids, pair[: len(pair) - excess]
    # longest_first: remove one token at a time from the longer sequence, from the
    # second on a tie. Done in one step: first even out the lengths, then share the
    # rest, the second sequence taking the odd one.
    n_first, n_second = len(ids), len(pair)
    even_out = min(abs(n_first - n_second), excess)
    shared = excess - even_out
    if n_first > n_second:
        n_first -= even_out
    else:
        n_second -= even_out
    n_first -= shared // 2
    n_second -= shared - shared // 2
    return ids[:n_first], pair[:n_second]
