"""Distillation: a small student learns from a big teacher's outputs, not only the labels.

Serves the chapter "The BERT family". Four papers, one idea each:

* Hinton, Vinyals and Dean (2015), "Distilling the Knowledge in a Neural Network":
  the *soft-target loss*, the KL divergence between the teacher's and the student's
  distributions softened by a temperature T, times T^2 (so that its gradients keep
  their size as T changes), mixed with the usual cross-entropy on the hard labels.
* Sanh et al. (2019), "DistilBERT, a distilled version of BERT": a student with half
  the layers, no segment embeddings and no pooler, initialised from the teacher by
  taking one layer out of two, and trained on soft targets + MLM + a cosine loss that
  aligns the student's hidden states with the teacher's.
* Jiao et al. (2020), "TinyBERT: Distilling BERT for Natural Language Understanding":
  layer-to-layer losses, the MSE between hidden states (through a learned projection
  when the widths differ) and between attention matrices, layer m of the student
  matched to layer g(m) of the teacher.
* Tang et al. (2019), "Distilling Task-Specific Knowledge from BERT into Simple Neural
  Networks": no transformer at all; a one-layer BiLSTM classifier trained to reproduce
  the fine-tuned teacher's logits with a mean-squared error.

Dimension legend: B = batch size, T = tokens, C = hidden size, K = classes (or
vocabulary size for MLM logits), L = layers, N = heads.

What changes relative to BERT: the model is smaller (DistilBERT: 6 of 12 layers,
66,362,880 parameters against BERT-base's 109,482,240; TinyBERT: narrower too; Tang et
al.: a BiLSTM), and the loss compares the student with the teacher. The layers are
``bertguide.model.BertLayer`` unchanged.

TinyBERT's last loss, on the prediction layer, is ``soft_target_loss`` (a soft
cross-entropy differs from the KL divergence by the teacher's entropy, a constant).

Left out: the training runs (the shared ``training.train`` loop takes these losses as
``loss_fn``), DistilBERT's MLM head and its triple-loss weights, TinyBERT's fit of
the unnormalised attention scores (``BertModel`` returns the softmax weights, and the
loss here compares those), its two-stage recipe and data augmentation, and Tang et
al.'s data augmentation and siamese model for sentence pairs.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from bertguide.checks import check_float, check_int
from bertguide.config import BertConfig
from bertguide.embeddings import BertEmbeddings, check_input_ids
from bertguide.model import BertModel

# --- Hinton et al.: soft targets -----------------------------------------------------


def soft_target_loss(
    student_logits: torch.Tensor, teacher_logits: torch.Tensor, temperature: float = 2.0
) -> torch.Tensor:
    """T^2 * KL(softmax(teacher / T) || softmax(student / T)), averaged over rows.

    Logits (..., K), the same shape for both. Zero when the two agree; its gradient
    with respect to the student's logits is T * (p_student - p_teacher) / rows.

    >>> soft_target_loss(torch.tensor([[1.0, 2.0]]), torch.tensor([[1.0, 2.0]]))
    tensor(0.)
    """
    if student_logits.shape != teacher_logits.shape:
        raise ValueError(
            f"student_logits {list(student_logits.shape)} and teacher_logits "
            f"{list(teacher_logits.shape)} must have the same shape"
        )
    T = check_float("temperature", temperature, 1e-6)
    K = student_logits.shape[-1]
    log_p_student = F.log_softmax(student_logits.reshape(-1, K) / T, dim=-1)  # (rows, K)
    log_p_teacher = F.log_softmax(teacher_logits.reshape(-1, K).detach() / T, dim=-1)
    kl = F.kl_div(log_p_student, log_p_teacher, reduction="batchmean", log_target=True)
    return kl * T**2


def distillation_loss(
    student_logits: torch.Tensor,
    teacher_logits: torch.Tensor,
    labels: torch.Tensor | None = None,
    *,
    temperature: float = 2.0,
    alpha: float = 0.5,
) -> torch.Tensor:
    """Hinton et al.'s loss: alpha * soft-target loss + (1 - alpha) * cross-entropy.

    student/teacher logits (B, K), labels (B,) of class ids (None: soft targets only).

    >>> logits = torch.tensor([[2.0, 0.0]])
    >>> distillation_loss(logits, logits, torch.tensor([0]))  # 0.5 * 0 + 0.5 * log(1 + e^-2)
    tensor(0.0635)
    """
    alpha = check_float("alpha", alpha, 0.0, 1.0)
    soft = soft_target_loss(student_logits, teacher_logits, temperature)
    if labels is None:
        return soft
    return alpha * soft + (1 - alpha) * F.cross_entropy(student_logits, labels)


# --- DistilBERT ------------------------------------------------------------------------


class DistilBertModel(BertModel):
    """DistilBERT: BERT's embeddings without the segment table -> L ``BertLayer``s, no pooler.

    ``token_type_ids`` are accepted and ignored, as DistilBERT has no segments.
    """

    def __init__(self, config: BertConfig) -> None:
        embeddings = BertEmbeddings(config, token_types=False)  # word + position only
        super().__init__(config, add_pooling_layer=False, embeddings=embeddings)


def distilbert_config(teacher: BertConfig, num_hidden_layers: int | None = None) -> BertConfig:
    """The teacher's config with half its layers (or ``num_hidden_layers``).

    >>> distilbert_config(BertConfig.base()).num_hidden_layers
    6
    """
    if not isinstance(teacher, BertConfig):
        raise TypeError(f"teacher must be a BertConfig, not {type(teacher).__name__}")
    L = teacher.num_hidden_layers // 2 if num_hidden_layers is None else num_hidden_layers
    return dataclasses.replace(teacher, num_hidden_layers=check_int("num_hidden_layers", L, 1))


def distilbert_student(
    teacher: BertModel, layers: Sequence[int] | None = None, *, fold_token_type: bool = False
) -> DistilBertModel:
    """A DistilBERT initialised from ``teacher``: its embeddings and one layer out of two.

    ``layers`` are the teacher's layer indices to copy, in order (default 0, 2, 4, ...;
    transformers' DistilBERT extraction script took 0, 2, 4, 7, 9, 11 of BERT-base).
    Word and position embeddings and their LayerNorm are copied; the segment table is
    dropped, as in DistilBERT, unless ``fold_token_type``: then segment 0's row is added
    to every position row, so single-segment inputs embed exactly as in the teacher.
    The tensors are copies (training the student leaves the teacher alone).

    >>> teacher = BertModel.from_pretrained()
    >>> student = distilbert_student(teacher)  # the teacher's layers 0, 2 and 4 of 6
    >>> len(student.encoder.layer)
    3
    >>> torch.equal(student.encoder.layer[1].output.dense.weight,
    ...             teacher.encoder.layer[2].output.dense.weight)
    True
    """
    if not isinstance(teacher, BertModel):
        raise TypeError(f"teacher must be a BertModel, not {type(teacher).__name__}")
    L = teacher.config.num_hidden_layers
    layers = list(range(0, L, 2)) if layers is None else list(layers)
    if not layers or any(not isinstance(i, int) or not 0 <= i < L for i in layers):
        raise ValueError(f"layers must be teacher layer indices in [0, {L}), got {layers}")
    student = DistilBertModel(distilbert_config(teacher.config, len(layers)))
    source, target = teacher.embeddings, student.embeddings
    with torch.no_grad():
        target.word_embeddings.weight.copy_(source.word_embeddings.weight)
        position = source.position_embeddings.weight
        if fold_token_type:
            position = position + source.token_type_embeddings.weight[0]  # (P, C) + (C,)
        target.position_embeddings.weight.copy_(position)
        target.LayerNorm.load_state_dict(source.LayerNorm.state_dict())
        for s, t in enumerate(layers):
            student.encoder.layer[s].load_state_dict(teacher.encoder.layer[t].state_dict())
    return student.train(teacher.training)


_HF_DISTILBERT_KEYS = {  # transformers' DistilBERT layer -> our BertLayer
    "attention.q_lin": "attention.self.query",
    "attention.k_lin": "attention.self.key",
    "attention.v_lin": "attention.self.value",
    "attention.out_lin": "attention.output.dense",
    "sa_layer_norm": "attention.output.LayerNorm",
    "ffn.lin1": "intermediate.dense",
    "ffn.lin2": "output.dense",
    "output_layer_norm": "output.LayerNorm",
}


def convert_hf_distilbert_state_dict(state_dict: dict[str, torch.Tensor]) -> dict:
    """transformers' ``DistilBertModel`` tensors -> ``DistilBertModel``'s keys.

    ``transformer.layer.i.<name>`` becomes ``encoder.layer.i.<BERT name>``; a leading
    ``distilbert.`` is dropped, and so are heads (``vocab_*``, ``pre_classifier``,
    ``classifier``, ``qa_outputs``) and buffers.

    >>> import transformers
    >>> hf = transformers.DistilBertModel(transformers.DistilBertConfig(
    ...     vocab_size=100, dim=32, n_layers=2, n_heads=2, hidden_dim=64))
    >>> student = DistilBertModel(BertConfig.tiny(num_attention_heads=2))
    >>> student.load_state_dict(convert_hf_distilbert_state_dict(hf.state_dict()))
    <All keys matched successfully>
    >>> ids = torch.tensor([[2, 15, 7, 3]])
    >>> torch.equal(student.eval()(ids).last_hidden_state, hf.eval()(ids).last_hidden_state)
    True
    """
    out = {}
    for key, tensor in state_dict.items():
        key = key.removeprefix("distilbert.")
        if key.startswith(("vocab_", "pre_classifier.", "classifier.", "qa_outputs.")):
            continue
        if key.endswith("position_ids"):
            continue
        if key.startswith("transformer.layer."):
            _, _, i, rest = key.split(".", 3)  # transformer layer i name.weight
            name, leaf = rest.rsplit(".", 1)
            key = f"encoder.layer.{i}.{_HF_DISTILBERT_KEYS[name]}.{leaf}"
        out[key] = tensor
    return out


def cosine_embedding_loss(
    student_hidden: torch.Tensor,
    teacher_hidden: torch.Tensor,
    attention_mask: torch.Tensor | None = None,
) -> torch.Tensor:
    """Mean over real tokens of 1 - cos(student vector, teacher vector); (B, T, C) each.

    DistilBERT's L_cos: it aligns the directions of the last hidden states.
    """
    if student_hidden.shape != teacher_hidden.shape:
        raise ValueError("student_hidden and teacher_hidden must have the same shape (B, T, C)")
    cosine = F.cosine_similarity(student_hidden, teacher_hidden.detach(), dim=-1)  # (B, T)
    if attention_mask is not None:
        cosine = cosine[attention_mask.bool()]
    return (1 - cosine).mean()


# --- TinyBERT ----------------------------------------------------------------------------


def uniform_layer_map(student_layers: int, teacher_layers: int) -> list[int]:
    """TinyBERT's g(m) = m * N / M for student layers m = 0 .. M (0 = embeddings).

    Index m of the student's hidden states (L + 1 of them) reads index g(m) of the
    teacher's; attention m (1-based) reads the teacher's g(m).

    >>> uniform_layer_map(4, 12)
    [0, 3, 6, 9, 12]
    """
    M = check_int("student_layers", student_layers, 1)
    N = check_int("teacher_layers", teacher_layers, 1)
    if N % M:
        raise ValueError(f"teacher_layers ({N}) must be a multiple of student_layers ({M})")
    return [m * N // M for m in range(M + 1)]


@dataclass
class TinyBertLosses:
    loss: torch.Tensor  # embedding + hidden + attention
    embedding: torch.Tensor  # MSE(E_S W_e, E_T)
    hidden: torch.Tensor  # sum over m = 1..M of MSE(H_S^m W_h, H_T^g(m))
    attention: torch.Tensor  # sum over m = 1..M of MSE(A_S^m, A_T^g(m))


class TinyBertLoss(nn.Module):
    """TinyBERT's layer losses, with the learned projections W_e and W_h (C_s -> C_t).

    Called with the student's and teacher's ``output_hidden_states=True,
    output_attentions=True`` outputs. Attention matrices need as many heads in both.

    >>> student = BertModel(BertConfig.tiny(hidden_size=16, num_attention_heads=2,
    ...                                     intermediate_size=32))
    >>> teacher = BertModel(BertConfig.tiny(num_hidden_layers=4, num_attention_heads=2))
    >>> loss_fn = TinyBertLoss(student.config, teacher.config)  # W_e, W_h train too
    >>> loss_fn.layer_map  # student layer m reads teacher layer 2m
    [0, 2, 4]
    >>> ids, mask = torch.tensor([[2, 7, 9, 3]]), torch.ones(1, 4, dtype=torch.long)
    >>> both = dict(output_hidden_states=True, output_attentions=True)
    >>> losses = loss_fn(student(ids, mask, **both), teacher(ids, mask, **both), mask)
    >>> bool(losses.loss == losses.embedding + losses.hidden + losses.attention)
    True
    """

    def __init__(
        self, student: BertConfig, teacher: BertConfig, layer_map: Sequence[int] | None = None
    ) -> None:
        super().__init__()
        if student.num_attention_heads != teacher.num_attention_heads:
            raise ValueError("the attention loss needs as many heads in student and teacher")
        M, N = student.num_hidden_layers, teacher.num_hidden_layers
        self.layer_map = uniform_layer_map(M, N) if layer_map is None else list(layer_map)
        if len(self.layer_map) != M + 1:
            raise ValueError(f"layer_map must have {M + 1} entries (m = 0 .. {M})")
        Cs, Ct = student.hidden_size, teacher.hidden_size
        self.embedding_projection = nn.Linear(Cs, Ct, bias=False)  # W_e
        self.hidden_projection = nn.Linear(Cs, Ct, bias=False)  # W_h, shared by the layers

    def forward(self, student_out, teacher_out, attention_mask: torch.Tensor) -> TinyBertLosses:
        hs, ht = student_out.hidden_states, teacher_out.hidden_states  # M + 1, N + 1 (B, T, C)
        As, At = student_out.attentions, teacher_out.attentions  # M, N of (B, N, T, T)
        if hs is None or ht is None or As is None or At is None:
            raise ValueError("pass outputs with output_hidden_states=True, output_attentions=True")
        real = attention_mask.bool()  # (B, T)
        pair = real[:, None, :, None] & real[:, None, None, :]  # (B, 1, T, T): real x real

        def mse(a, b, where):  # mean squared error over the positions of ``where``
            return ((a - b.detach()) ** 2)[where.expand_as(a)].mean()

        g = self.layer_map
        embedding = mse(self.embedding_projection(hs[0]), ht[g[0]], real[..., None])
        hidden = sum(
            mse(self.hidden_projection(hs[m]), ht[g[m]], real[..., None]) for m in range(1, len(hs))
        )
        attention = sum(mse(As[m - 1], At[g[m] - 1], pair) for m in range(1, len(hs)))
        return TinyBertLosses(embedding + hidden + attention, embedding, hidden, attention)


# --- Tang et al.: a BiLSTM student ------------------------------------------------------


class BiLstmClassifier(nn.Module):
    """embedding -> one-layer BiLSTM -> max over time -> ReLU MLP -> K logits.

    ``pooling="max"`` takes each feature's maximum over the real tokens; ``"last"``
    concatenates the forward LSTM's last state and the backward LSTM's first.

    >>> from bertguide.tokenizer import WordPieceTokenizer
    >>> tok = WordPieceTokenizer.from_pretrained()
    >>> batch = tok(["a fine film", "dull"], padding=True)
    >>> model = BiLstmClassifier(vocab_size=len(tok), num_labels=2)
    >>> model(batch["input_ids"], batch["attention_mask"]).shape  # (B, 2)
    torch.Size([2, 2])
    """

    def __init__(
        self,
        vocab_size: int,
        num_labels: int = 2,
        *,
        embedding_size: int = 300,
        hidden_size: int = 300,
        mlp_size: int = 400,
        pooling: str = "max",
        pad_token_id: int = 0,
    ) -> None:
        super().__init__()
        if pooling not in ("max", "last"):
            raise ValueError(f"pooling must be 'max' or 'last', got {pooling!r}")
        self.pooling = pooling
        V = check_int("vocab_size", vocab_size, 1)
        E = check_int("embedding_size", embedding_size, 1)
        H = check_int("hidden_size", hidden_size, 1)
        self.embeddings = nn.Embedding(V, E, padding_idx=pad_token_id)
        self.lstm = nn.LSTM(E, H, batch_first=True, bidirectional=True)
        self.mlp = nn.Sequential(
            nn.Linear(2 * H, check_int("mlp_size", mlp_size, 1)),
            nn.ReLU(),
            nn.Linear(mlp_size, check_int("num_labels", num_labels, 1)),
        )

    def forward(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None
    ) -> torch.Tensor:
        """input_ids (B, T), attention_mask (B, T) -> logits (B, K)."""
        check_input_ids(input_ids)
        if attention_mask is None:
            real = torch.ones_like(input_ids, dtype=torch.bool)  # (B, T)
        else:
            real = attention_mask.bool()  # (B, T)
        lengths = real.sum(dim=1).cpu()  # (B,)
        packed = nn.utils.rnn.pack_padded_sequence(
            self.embeddings(input_ids), lengths, batch_first=True, enforce_sorted=False
        )
        out, (h, _) = self.lstm(packed)  # h: (2, B, H): forward's last, backward's first
        if self.pooling == "last":
            pooled = torch.cat([h[0], h[1]], dim=-1)  # (B, 2H)
        else:
            out, _ = nn.utils.rnn.pad_packed_sequence(
                out, batch_first=True, total_length=input_ids.shape[1]
            )  # (B, T, 2H)
            pooled = out.masked_fill(~real[..., None], float("-inf")).amax(dim=1)  # (B, 2H)
        return self.mlp(pooled)  # (B, K)


def logit_mse_loss(
    student_logits: torch.Tensor,
    teacher_logits: torch.Tensor,
    labels: torch.Tensor | None = None,
    *,
    alpha: float = 0.0,
) -> torch.Tensor:
    """Tang et al.'s loss: (1 - alpha) * MSE(student, teacher logits) + alpha * CE(labels).

    The MSE is the mean over the B x K logits. ``alpha = 0`` (the default) trains on the
    teacher's logits alone.

    >>> logit_mse_loss(torch.tensor([[1.0, 3.0]]), torch.tensor([[2.0, 1.0]]))   # (1+4)/2
    tensor(2.5000)
    """
    if student_logits.shape != teacher_logits.shape:
        raise ValueError("student_logits and teacher_logits must have the same shape (B, K)")
    alpha = check_float("alpha", alpha, 0.0, 1.0)
    mse = F.mse_loss(student_logits, teacher_logits.detach())
    if labels is None or alpha == 0.0:
        return mse
    return (1 - alpha) * mse + alpha * F.cross_entropy(student_logits, labels)
