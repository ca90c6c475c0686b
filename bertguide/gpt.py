"""GPT, the autoregressive branch: a GPT-2-shaped decoder next to BERT's encoder.

Serves the chapter "GPT: the autoregressive branch".

Dimension legend used in the shape comments:

    B = batch size      T = new tokens in this call      C = hidden size (n_embd)
    N = attention heads H = head size (C / N)            V = vocabulary size
    P = tokens already in the key/value cache (0 without one)    L = layers

BERT reads a whole sentence at once and every token attends to every other. GPT reads
left to right: token t may attend only to tokens 0..t. That is the ONE change inside
attention, a lower-triangular mask (``causal_mask``):

    Attention(Q, K, V) = softmax(Q K^T / sqrt(H) + M) V,   M[i, j] = 0 if j <= i else -inf

so the output at position t depends on tokens 0..t only, and the model can be trained to
predict token t + 1 from it, at every position of a sequence in one pass
(``GPT2LMHeadModel``'s ``loss``). The rest is arrangement, as in GPT-2 (Radford et al.,
2019): LayerNorm *before* each sub-layer (pre-LN; BERT normalises after), a final
LayerNorm, the tanh approximation of GELU, learned absolute positions, no segment
embeddings, no pooler, and an LM head that *is* the token embedding (one tensor, tied):

    x = wte[ids] + wpe[positions]
    x = x + Attention(ln_1(x))                     # GPT2Block, L times
    x = x + MLP(ln_2(x))
    logits = ln_f(x) @ wte^T                       # (B, T, V)

Generation (``bertguide.generation.generate``) appends one token at a time. Because
earlier positions never see later ones, their keys and values never change: each layer
keeps them in a cache (``past_key_values``, L pairs of (B, N, P, H)), and a step feeds
only the newest token, which attends to every cached position; its position id is P.

Layout and Hugging Face. Module and parameter names are those of transformers'
``GPT2LMHeadModel`` (``transformer.wte``, ``transformer.h.0.attn.c_attn``, ...), so the
state-dict keys are identical. The layers are ``nn.Linear``, not GPT-2's ``Conv1D``:
a ``Conv1D`` is a linear layer whose weight is stored transposed, (in, out) rather than
(out, in). ``convert_hf_gpt2_state_dict`` transposes those four weights per block when
loading, and the tests load transformers' weights that way and match its logits and loss.

Context window: positions are absolute, so at most ``n_positions`` tokens are read at
once. ``forward`` refuses more; ``generate`` crops: once the sequence is full, each step
reads the last ``n_positions`` tokens afresh (positions 0.. again), without the cache,
which cannot slide because every cached key was computed at its old position.

The sub-layers' ``forward`` signatures repeat, as in transformers, so that each class
reads whole on its own; a duplicate-code scan lists them, and they are kept on purpose.

Left out: padding masks (a batch holds sequences of one length), token type ids,
``inputs_embeds``, cross-attention, beam search, top-p sampling, repetition penalties,
GPT-2's byte-level BPE tokenizer, and loading GPT-2's released weights (no download
here; ``convert_hf_gpt2_state_dict`` accepts them where they are available).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from bertguide.attention import scaled_dot_product_attention
from bertguide.checks import check_bool, check_float, check_int
from bertguide.embeddings import check_ids, check_input_ids
from bertguide.initialization import init_bert_weights

# L pairs (keys, values), each (B, N, P, H)
KeyValueCache = tuple[tuple[torch.Tensor, torch.Tensor], ...]


@dataclass
class GPTConfig:
    """Sizes and constants of a GPT-2-style decoder; GPT-2's field names. Defaults: GPT-2 small."""

    vocab_size: int = 50257  # rows of the token-embedding table (GPT-2: 50,000 BPE merges + 257)
    n_positions: int = 1024  # context window: rows of the position table
    n_embd: int = 768  # width of every token vector between blocks (C)
    n_layer: int = 12  # decoder blocks stacked (L)
    n_head: int = 12  # heads per self-attention layer (N)
    n_inner: int | None = None  # inner width of each MLP; None means 4 * n_embd
    embd_pdrop: float = 0.1  # dropout on token + position embeddings
    attn_pdrop: float = 0.1  # dropout on the attention weights
    resid_pdrop: float = 0.1  # dropout on each sub-layer's output, before the residual add
    layer_norm_epsilon: float = 1e-5  # epsilon inside every LayerNorm (BERT: 1e-12)
    initializer_range: float = 0.02  # std of the normal init of weights and embeddings

    def __post_init__(self) -> None:
        for name in ("vocab_size", "n_positions", "n_embd", "n_layer", "n_head", "n_inner"):
            check_int(name, getattr(self, name), 1, optional=name == "n_inner")
        for name in ("embd_pdrop", "attn_pdrop", "resid_pdrop"):
            setattr(self, name, check_float(name, getattr(self, name), 0.0, 1.0, open_high=True))
        for name in ("layer_norm_epsilon", "initializer_range"):
            setattr(self, name, check_float(name, getattr(self, name), 0.0, open_low=True))
        if self.n_embd % self.n_head != 0:
            raise ValueError(f"n_embd ({self.n_embd}) must be divisible by n_head ({self.n_head})")

    @property
    def head_size(self) -> int:
        """Width of one attention head (H = n_embd / n_head)."""
        return self.n_embd // self.n_head

    @property
    def inner_size(self) -> int:
        """Inner width of the MLP: ``n_inner``, or 4 * n_embd when that is None."""
        return self.n_inner if self.n_inner is not None else 4 * self.n_embd

    @classmethod
    def small(cls, **overrides: Any) -> GPTConfig:
        """GPT-2 small: 12 layers, 768 wide, 12 heads, 1024 positions (124,439,808 parameters).

        >>> GPTConfig.small().n_layer
        12
        """
        return cls(**overrides)

    @classmethod
    def tiny(cls, **overrides: Any) -> GPTConfig:
        """The guide's CPU-sized GPT: 256 byte ids, 64 positions, 2 layers of 64, 4 heads.

        Bytes as the vocabulary (any text encodes with ``text.encode("utf-8")``) and no
        dropout: small enough to train in minutes on two CPU cores.

        >>> GPTConfig.tiny().n_embd, GPTConfig.tiny(n_layer=4).n_layer
        (64, 4)
        """
        sizes = dict(
            vocab_size=256,
            n_positions=64,
            n_embd=64,
            n_layer=2,
            n_head=4,
            embd_pdrop=0.0,
            attn_pdrop=0.0,
            resid_pdrop=0.0,
        )
        return cls(**{**sizes, **overrides})

    def to_hf_dict(self) -> dict[str, Any]:
        """Keyword arguments for ``transformers.GPT2Config`` describing the same model.

        Special-token ids are left unset: they do not change what the model computes, and
        GPT-2's 50256 (``<|endoftext|>``) is outside a smaller vocabulary.
        """
        return {
            "model_type": "gpt2",
            "activation_function": "gelu_new",  # GELU, tanh approximation
            "scale_attn_weights": True,
            "scale_attn_by_inverse_layer_idx": False,
            "reorder_and_upcast_attn": False,
            "add_cross_attention": False,
            "tie_word_embeddings": True,
            "bos_token_id": None,
            "eos_token_id": None,
            **dataclasses.asdict(self),
        }


def causal_mask(
    T: int, past_length: int = 0, device: torch.device | str | None = None
) -> torch.Tensor:
    """bool (T, past_length + T): True where a query may attend a key.

    Query i (the token at position past_length + i) sees keys 0 .. past_length + i:
    a lower triangle, shifted right by the cached tokens. BERT's mask is all True.

    >>> causal_mask(3).int().tolist()
    [[1, 0, 0], [1, 1, 0], [1, 1, 1]]
    >>> causal_mask(1, past_length=2).int().tolist()
    [[1, 1, 1]]
    """
    check_int("T", T, 1)
    check_int("past_length", past_length, 0)
    ones = torch.ones(T, past_length + T, dtype=torch.bool, device=device)
    return ones.tril(diagonal=past_length)  # (T, P + T)


class GPT2Attention(nn.Module):
    """Causal multi-head self-attention with an optional key/value cache."""

    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        C = config.n_embd
        self.n_head = config.n_head  # N
        self.head_size = config.head_size  # H
        self.c_attn = nn.Linear(C, 3 * C)  # q, k and v of all heads in one matrix
        self.c_proj = nn.Linear(C, C)  # mixes the concatenated heads
        self.attn_dropout = nn.Dropout(config.attn_pdrop)
        self.resid_dropout = nn.Dropout(config.resid_pdrop)

    def forward(
        self,
        x: torch.Tensor,
        layer_past: tuple[torch.Tensor, torch.Tensor] | None = None,
        use_cache: bool = False,
        output_attentions: bool = False,
    ) -> tuple[torch.Tensor, tuple | None, torch.Tensor | None]:
        """x (B, T, C) -> (B, T, C), (keys, values) (B, N, P + T, H) or None, weights or None.

        ``layer_past``: this layer's cached (keys, values), each (B, N, P, H). Weights are
        (B, N, T, P + T), zero above the (shifted) diagonal.
        """
        B, T, C = x.shape
        N, H = self.n_head, self.head_size
        q, k, v = self.c_attn(x).split(C, dim=2)  # 3 x (B, T, C)
        q = q.view(B, T, N, H).transpose(1, 2)  # (B, N, T, H)
        k = k.view(B, T, N, H).transpose(1, 2)  # (B, N, T, H)
        v = v.view(B, T, N, H).transpose(1, 2)  # (B, N, T, H)
        if layer_past is not None:  # the earlier tokens' keys and values, computed before
            k = torch.cat([layer_past[0], k], dim=2)  # (B, N, P + T, H)
            v = torch.cat([layer_past[1], v], dim=2)  # (B, N, P + T, H)
        P = k.size(2) - T
        present = (k, v) if use_cache else None
        dropout_p = self.attn_dropout.p if self.training else 0.0

        if output_attentions:  # explicit, so the weights can be returned and drawn
            mask = causal_mask(T, P, device=x.device)  # (T, P + T), broadcast over B, N
            y, weights = scaled_dot_product_attention(q, k, v, mask, dropout_p)
        else:  # PyTorch's fused kernel, same result without keeping the weights
            weights = None
            if P == 0:
                y = F.scaled_dot_product_attention(q, k, v, dropout_p=dropout_p, is_causal=True)
            elif T == 1:  # one new token sees every cached one: no mask at all
                y = F.scaled_dot_product_attention(q, k, v, dropout_p=dropout_p)
            else:  # is_causal aligns the triangle top-left; with a cache it must shift
                mask = causal_mask(T, P, device=x.device)
                y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=dropout_p)
        y = y.transpose(1, 2).reshape(B, T, C)  # (B, T, N * H): heads side by side
        return self.resid_dropout(self.c_proj(y)), present, weights


class GPT2MLP(nn.Module):
    """The feed-forward block: widen C -> n_inner (4C), GELU (tanh form), narrow back, dropout."""

    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        self.c_fc = nn.Linear(config.n_embd, config.inner_size)
        self.c_proj = nn.Linear(config.inner_size, config.n_embd)
        self.dropout = nn.Dropout(config.resid_pdrop)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # GPT-2's GELU: 0.5 x (1 + tanh(sqrt(2 / pi) (x + 0.044715 x^3))); BERT uses the erf
        h = F.gelu(self.c_fc(x), approximate="tanh")  # (B, T, n_inner)
        return self.dropout(self.c_proj(h))  # (B, T, C)


class GPT2Block(nn.Module):
    """One decoder block, pre-LN: x + attn(ln_1(x)), then x + mlp(ln_2(x))."""

    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        self.ln_1 = nn.LayerNorm(config.n_embd, eps=config.layer_norm_epsilon)
        self.attn = GPT2Attention(config)
        self.ln_2 = nn.LayerNorm(config.n_embd, eps=config.layer_norm_epsilon)
        self.mlp = GPT2MLP(config)

    def forward(
        self,
        x: torch.Tensor,
        layer_past: tuple[torch.Tensor, torch.Tensor] | None = None,
        use_cache: bool = False,
        output_attentions: bool = False,
    ) -> tuple[torch.Tensor, tuple | None, torch.Tensor | None]:
        """(B, T, C) -> (B, T, C), this layer's (keys, values) or None, weights or None."""
        a, present, weights = self.attn(self.ln_1(x), layer_past, use_cache, output_attentions)
        x = x + a  # the residual stream is never normalised in place
        x = x + self.mlp(self.ln_2(x))
        return x, present, weights


class GPT2Model(nn.Module):
    """Token + position embeddings, L decoder blocks, a final LayerNorm.

    Inputs are not checked here; ``GPT2LMHeadModel.forward`` checks them.
    """

    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        self.config = config
        self.wte = nn.Embedding(config.vocab_size, config.n_embd)  # token embeddings
        self.wpe = nn.Embedding(config.n_positions, config.n_embd)  # position embeddings
        self.drop = nn.Dropout(config.embd_pdrop)
        self.h = nn.ModuleList(GPT2Block(config) for _ in range(config.n_layer))
        self.ln_f = nn.LayerNorm(config.n_embd, eps=config.layer_norm_epsilon)
        init_bert_weights(self, config.initializer_range)  # GPT-2's is BERT's rule
        # GPT-2 scales the init of the layers that write into the residual stream by
        # 1/sqrt(2L): 2L of them add up along the stream (attention and MLP per block).
        for block in self.h:
            for projection in (block.attn.c_proj, block.mlp.c_proj):
                std = config.initializer_range / math.sqrt(2 * config.n_layer)
                nn.init.normal_(projection.weight, mean=0.0, std=std)

    def forward(
        self,
        input_ids: torch.Tensor,
        past_key_values: KeyValueCache | None = None,
        use_cache: bool = False,
        output_attentions: bool = False,
    ) -> tuple[torch.Tensor, KeyValueCache | None, tuple[torch.Tensor, ...] | None]:
        """input_ids (B, T) -> hidden (B, T, C), new cache or None, L weights or None."""
        T = input_ids.size(1)
        P = 0 if past_key_values is None else past_key_values[0][0].size(2)
        positions = torch.arange(P, P + T, device=input_ids.device)  # (T,): continue the cache
        x = self.drop(self.wte(input_ids) + self.wpe(positions))  # (B, T, C)
        presents, attentions = [], []
        for i, block in enumerate(self.h):
            layer_past = None if past_key_values is None else past_key_values[i]
            x, present, weights = block(x, layer_past, use_cache, output_attentions)
            presents.append(present)
            attentions.append(weights)
        return (
            self.ln_f(x),
            tuple(presents) if use_cache else None,
            tuple(attentions) if output_attentions else None,
        )


@dataclass
class CausalLMOutput:
    """What ``GPT2LMHeadModel`` returns (field names as in transformers)."""

    logits: torch.Tensor  # (B, T, V): scores for the token *after* each position
    loss: torch.Tensor | None = None  # mean next-token cross-entropy, when labels are given
    past_key_values: KeyValueCache | None = None  # L pairs (B, N, P + T, H), if use_cache
    attentions: tuple[torch.Tensor, ...] | None = None  # L of (B, N, T, P + T); rows sum to 1


def _check_labels(labels: Any, input_ids: torch.Tensor, vocab_size: int) -> None:
    if not isinstance(labels, torch.Tensor):
        raise TypeError(f"labels must be a torch.Tensor, not {type(labels).__name__}")
    if labels.dtype != torch.long:
        raise TypeError(f"labels must have dtype torch.long, not {labels.dtype}")
    if labels.shape != input_ids.shape:
        raise ValueError(
            f"labels has shape {list(labels.shape)} but input_ids has shape "
            f"{list(input_ids.shape)}; they must match (the shift happens inside)"
        )
    if labels.size(1) < 2:
        raise ValueError("labels need at least 2 tokens: position t is scored on token t + 1")
    if labels.is_meta:
        return
    bad = (labels != -100) & ((labels < 0) | (labels >= vocab_size))
    if bad.any():
        raise ValueError(
            f"labels contains {int(labels[bad][0])}, outside [0, {vocab_size}) "
            f"and not -100 (ignored)"
        )


def _check_cache(past_key_values: Any, config: GPTConfig, input_ids: torch.Tensor) -> int:
    """Check the cache's structure and shapes; return P, the number of cached tokens."""
    L, N, H = config.n_layer, config.n_head, config.head_size
    pairs = isinstance(past_key_values, (tuple, list)) and len(past_key_values) == L
    if not pairs or not all(
        isinstance(pair, (tuple, list))
        and len(pair) == 2
        and all(isinstance(t, torch.Tensor) and t.dim() == 4 for t in pair)
        for pair in past_key_values
    ):
        raise TypeError(
            f"past_key_values must be n_layer={L} (keys, values) pairs of 4-D tensors "
            f"(B, N, P, H), as the model returns them with use_cache=True"
        )
    B, P = input_ids.size(0), past_key_values[0][0].size(2)
    for i, pair in enumerate(past_key_values):
        for name, t in zip(("keys", "values"), pair, strict=True):
            if tuple(t.shape) != (B, N, P, H):
                raise ValueError(
                    f"past_key_values[{i}] {name} has shape {list(t.shape)}, "
                    f"expected {[B, N, P, H]} (B, N, P, H)"
                )
    return P


class GPT2LMHeadModel(nn.Module):
    """GPT-2 with its language-modelling head: next-token logits at every position.

    >>> model = GPT2LMHeadModel(GPTConfig.tiny())
    >>> model(torch.tensor([[104, 105]])).logits.shape
    torch.Size([1, 2, 256])
    """

    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        if not isinstance(config, GPTConfig):
            raise TypeError(f"config must be a GPTConfig, not {type(config).__name__}")
        self.config = config
        self.transformer = GPT2Model(config)
        self.lm_head = nn.Linear(config.n_embd, config.vocab_size, bias=False)
        self.lm_head.weight = self.transformer.wte.weight  # tied: one (V, C) tensor, two uses

    def forward(
        self,
        input_ids: torch.Tensor,
        labels: torch.Tensor | None = None,
        past_key_values: KeyValueCache | None = None,
        use_cache: bool = False,
        output_attentions: bool = False,
    ) -> CausalLMOutput:
        """input_ids (B, T) -> logits (B, T, V) [, loss, past_key_values, attentions].

        ``labels`` (B, T): usually ``input_ids`` itself; the shift is done here, so
        ``logits[:, t]`` is scored on ``labels[:, t + 1]``; -100 marks positions to skip.
        ``past_key_values``: the cache from an earlier call; ``input_ids`` then holds only
        the new tokens, at positions P .. P + T - 1. ``use_cache`` returns the grown cache.

        >>> model = GPT2LMHeadModel(GPTConfig.tiny())
        >>> ids = torch.tensor([[104, 105, 33]])
        >>> out = model(ids, labels=ids, use_cache=True)
        >>> out.loss.shape, out.past_key_values[0][0].shape
        (torch.Size([]), torch.Size([1, 4, 3, 16]))
        """
        for name, flag in (("use_cache", use_cache), ("output_attentions", output_attentions)):
            check_bool(name, flag)
        check_input_ids(input_ids)
        config = self.config
        values = not self.training  # reading ids on the host syncs: not in a training step
        check_ids("input_ids", input_ids, input_ids.shape, config.vocab_size, "vocab_size", values)
        P = 0 if past_key_values is None else _check_cache(past_key_values, config, input_ids)
        T = input_ids.size(1)
        if P + T > config.n_positions:
            cached = f" after {P} cached tokens" if P else ""
            raise ValueError(
                f"input_ids has {T} tokens{cached} but this model reads at most "
                f"n_positions={config.n_positions}; crop the input (generate() crops itself)"
            )
        if labels is not None:
            _check_labels(labels, input_ids, config.vocab_size)

        x, presents, attentions = self.transformer(
            input_ids, past_key_values, use_cache, output_attentions
        )
        logits = self.lm_head(x)  # (B, T, V)
        loss = None
        if labels is not None:
            loss = next_token_loss(logits, labels)
        return CausalLMOutput(
            logits=logits, loss=loss, past_key_values=presents, attentions=attentions
        )


def next_token_loss(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy of logits (B, T, V) at t against labels (B, T) at t + 1.

    The last position has nothing to predict and the first label nothing predicting it;
    labels equal to -100 are skipped (the mean is over the rest).

    >>> logits = torch.zeros(1, 3, 4)  # uniform over 4 tokens
    >>> round(float(next_token_loss(logits, torch.tensor([[0, 1, 2]]))), 4)  # ln 4
    1.3863
    """
    V = logits.size(-1)
    shifted_logits = logits[:, :-1, :].reshape(-1, V).float()  # (B * (T - 1), V)
    targets = labels[:, 1:].reshape(-1)  # (B * (T - 1),)
    return F.cross_entropy(shifted_logits, targets, ignore_index=-100)


# --- Hugging Face's GPT-2 checkpoints -----------------------------------------

CONV1D_SUFFIXES = (
    ".attn.c_attn.weight",
    ".attn.c_proj.weight",
    ".mlp.c_fc.weight",
    ".mlp.c_proj.weight",
)
"""The Conv1D layers of transformers' GPT-2, whose weights are stored (in, out): their
keys end so, and ``convert_hf_gpt2_state_dict`` transposes them to ``nn.Linear``'s
(out, in)."""
# buffers older checkpoints carry: a stored causal mask and its fill value
_IGNORED_SUFFIXES = (".attn.bias", ".attn.masked_bias")


def convert_hf_gpt2_state_dict(
    state_dict: dict[str, torch.Tensor], config: GPTConfig
) -> dict[str, torch.Tensor]:
    """Map transformers' GPT-2 weights (``GPT2LMHeadModel`` or ``GPT2Model``) onto ours.

    Adds the ``transformer.`` prefix where missing, transposes the four Conv1D weights
    per block, drops the stored mask buffers, and ties ``lm_head.weight`` to ``wte``.
    Raises ValueError naming every missing, unexpected or mis-shaped key.

    >>> import transformers
    >>> config = GPTConfig.tiny()
    >>> hf = transformers.GPT2LMHeadModel(transformers.GPT2Config(**config.to_hf_dict()))
    >>> ours = GPT2LMHeadModel(config)
    >>> ours.load_state_dict(convert_hf_gpt2_state_dict(hf.state_dict(), config))
    <All keys matched successfully>
    """
    if not isinstance(state_dict, dict):
        raise TypeError(f"state_dict must be a dict, not {type(state_dict).__name__}")
    if not isinstance(config, GPTConfig):
        raise TypeError(f"config must be a GPTConfig, not {type(config).__name__}")
    with torch.device("meta"):
        expected = {k: v.shape for k, v in GPT2LMHeadModel(config).state_dict().items()}

    converted: dict[str, torch.Tensor] = {}
    seen, problems = set(), []
    for hf_key, tensor in state_dict.items():
        if hf_key.endswith(_IGNORED_SUFFIXES):
            continue
        key = hf_key if hf_key.startswith(("transformer.", "lm_head.")) else "transformer." + hf_key
        seen.add(key)
        if key.endswith(CONV1D_SUFFIXES):
            tensor = tensor.t()  # Conv1D (in, out) -> nn.Linear (out, in)
        if key not in expected:
            problems.append(f"unexpected key {hf_key}")
        elif tensor.shape != expected[key]:
            problems.append(
                f"{hf_key} has shape {list(tensor.shape)}, expected {list(expected[key])}"
            )
        else:
            converted[key] = tensor.detach().float().contiguous()
    wte = converted.get("transformer.wte.weight")
    if wte is not None:
        lm_head = converted.setdefault("lm_head.weight", wte)
        if not torch.equal(lm_head, wte):
            problems.append("lm_head.weight differs from transformer.wte.weight (must be tied)")
    missing = sorted(set(expected) - seen - set(converted))
    if missing:
        problems.append("missing " + ", ".join(missing))
    if problems:
        raise ValueError("checkpoint does not fit GPT2LMHeadModel(config): " + "; ".join(problems))
    return converted
