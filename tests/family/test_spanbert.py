"""SpanBERT: span lengths follow the clipped geometric law; whole-word spans; the SBO head."""

import pytest
import torch
import torch.nn.functional as F

from bertguide.config import BertConfig
from bertguide.corpus import sentence_documents
from bertguide.family.roberta import pack_full_sentences
from bertguide.family.spanbert import (
    SpanBertForPreTraining,
    SpanBoundaryHead,
    sample_span_lengths,
    span_length_probabilities,
    span_mask,
)
from bertguide.masking import MaskingVocab, PreTrainingCollator

# chi-square with 9 degrees of freedom (10 lengths): P(X > 27.88) = 0.001
CHI2_9DF_999 = 27.88


def chi_square(counts: torch.Tensor, probabilities: torch.Tensor) -> float:
    expected = counts.sum() * probabilities
    return float(((counts - expected) ** 2 / expected).sum())


@pytest.fixture(scope="module")
def batch(tok):
    """120 inputs of up to 128 real tokens: packed news sentences, padded."""
    packed = pack_full_sentences(sentence_documents("lee", "train")[:80], tok, max_length=128)
    return PreTrainingCollator(tok, mlm=False)(packed[:120])


@pytest.fixture(scope="module")
def masking(batch, tok):
    return span_mask(
        batch["input_ids"],
        tok,
        attention_mask=batch["attention_mask"],
        generator=torch.Generator().manual_seed(0),
    )


def test_law_is_the_clipped_renormalised_geometric():
    probabilities = span_length_probabilities(0.2, 10)
    by_hand = torch.tensor([0.2 * 0.8 ** (l - 1) for l in range(1, 11)], dtype=torch.float64)
    torch.testing.assert_close(probabilities, by_hand / (1 - 0.8**10))
    mean = float((torch.arange(1, 11) * probabilities).sum())
    assert round(mean, 1) == 3.8  # the mean span length the paper reports


def test_sampled_lengths_follow_the_law():
    draws = sample_span_lengths(20_000, generator=torch.Generator().manual_seed(0))
    assert int(draws.min()) == 1 and int(draws.max()) == 10
    counts = torch.bincount(draws, minlength=11)[1:].double()
    probabilities = span_length_probabilities()
    assert chi_square(counts, probabilities) < CHI2_9DF_999
    torch.testing.assert_close(counts / 20_000, probabilities, atol=0.01, rtol=0)


def test_masked_span_lengths_follow_the_law(masking):
    # every span but the last one drawn in a row keeps its drawn length
    lengths = torch.tensor([words for row in masking.spans for _, _, words in row[:-1]])
    assert len(lengths) > 300
    counts = torch.bincount(lengths, minlength=11)[1:].double()
    assert chi_square(counts, span_length_probabilities()) < CHI2_9DF_999


def test_about_fifteen_percent_is_masked(batch, masking, tok):
    vocab = MaskingVocab.from_tokenizer(tok)
    candidates = (~torch.isin(batch["input_ids"], vocab.special_ids)) & batch[
        "attention_mask"
    ].bool()
    n = candidates.sum(dim=1).double()
    masked = (masking.labels != -100).sum(dim=1).double()
    assert abs(float(masked.sum() / n.sum()) - 0.15) < 0.01
    for row, spans in enumerate(masking.spans):
        budget, total = round(0.15 * int(n[row])), int(masked[row])
        last = spans[-1][1] - spans[-1][0] + 1  # tokens of the last span kept
        before = total - last
        assert before < budget  # spans were drawn until the budget was reached
        if total >= budget:  # the last span was kept: it lands nearer than leaving it out
            assert total - budget <= budget - before


def test_spans_are_whole_words_away_from_special_tokens(batch, masking, tok):
    vocab = MaskingVocab.from_tokenizer(tok)
    ids, attention = batch["input_ids"], batch["attention_mask"]
    special = torch.isin(ids, vocab.special_ids) | (attention == 0)
    continues = vocab.continues_word[ids]  # (B, T): "##" pieces
    for row, spans in enumerate(masking.spans):
        labelled = (masking.labels[row] != -100).nonzero().flatten().tolist()
        covered = [t for first, last, _ in spans for t in range(first, last + 1)]
        assert sorted(covered) == labelled  # spans are exactly the labelled tokens
        for first, last, words in spans:
            assert not special[row, first : last + 1].any()
            assert not continues[row, first]  # starts a word
            assert not continues[row, last + 1]  # and the next token starts another
            starts = int((~continues[row, first : last + 1]).sum())
            assert starts == words
            # both boundary tokens are real and unmasked: spans never touch
            for boundary in (first - 1, last + 1):
                assert attention[row, boundary] == 1
                assert masking.labels[row, boundary] == -100
            assert masking.span_boundaries[row, first : last + 1].tolist() == [
                [first - 1, last + 1]
            ] * (last - first + 1)


def test_eighty_ten_ten_applies_to_whole_spans(batch, masking, tok):
    kinds = {"mask": 0, "random": 0, "kept": 0}
    for row, spans in enumerate(masking.spans):
        for first, last, _ in spans:
            new = masking.input_ids[row, first : last + 1]
            old = batch["input_ids"][row, first : last + 1]
            if (new == tok.mask_token_id).all():
                kinds["mask"] += 1
            elif torch.equal(new, old):
                kinds["kept"] += 1
            else:
                assert not (new == tok.mask_token_id).any()  # never a mixed span
                kinds["random"] += 1
    total = sum(kinds.values())
    assert abs(kinds["mask"] / total - 0.8) < 0.05
    assert abs(kinds["random"] / total - 0.1) < 0.05


def test_span_masking_is_repeatable(batch, tok):
    def masked(seed):
        ids = batch["input_ids"][:4]
        generator = torch.Generator().manual_seed(seed)
        return span_mask(ids, tok, attention_mask=batch["attention_mask"][:4], generator=generator)

    assert masked(1).spans == masked(1).spans != masked(2).spans


# --- the span-boundary objective --------------------------------------------------------


SMALL = BertConfig(
    vocab_size=50,
    hidden_size=16,
    num_hidden_layers=1,
    num_attention_heads=2,
    intermediate_size=32,
    max_position_embeddings=32,
)


def test_boundary_head_reads_the_two_boundaries_and_the_position():
    torch.manual_seed(0)
    table = torch.nn.Embedding(50, 16)
    head = SpanBoundaryHead(SMALL, table.weight).eval()
    hidden = torch.randn(1, 8, 16)
    boundaries = torch.zeros(1, 8, 2, dtype=torch.long)
    boundaries[0, 3:6] = torch.tensor([2, 6])  # a span of tokens 3..5
    mask = torch.zeros(1, 8, dtype=torch.bool)
    mask[0, 3:6] = True
    logits = head(hidden, boundaries, mask)  # (3, V)
    for k, t in enumerate(range(3, 6)):  # by hand, token t of the span
        x = torch.cat([hidden[0, 2], hidden[0, 6], head.position_embeddings.weight[t - 2]])
        x = head.LayerNorm1(F.gelu(head.dense1(x)))
        x = head.LayerNorm2(F.gelu(head.dense2(x)))
        torch.testing.assert_close(logits[k], x @ table.weight.T + head.bias)
    changed = hidden.clone()
    changed[0, 3:6] += 10.0  # what is inside the span does not enter the SBO
    torch.testing.assert_close(head(changed, boundaries, mask), logits)


def test_spanbert_loss_is_mlm_plus_sbo(batch, tok):
    ids, attention = batch["input_ids"][:4, :64], batch["attention_mask"][:4, :64]
    vocab = MaskingVocab.from_tokenizer(tok)
    masking = span_mask(ids, vocab, attention_mask=attention, generator=torch.Generator())
    torch.manual_seed(0)
    config = BertConfig.tiny(vocab_size=len(tok), num_hidden_layers=1, max_position_embeddings=64)
    model = SpanBertForPreTraining(config).eval()
    out = model(masking.input_ids, attention, masking.labels, masking.span_boundaries)
    targets = masking.labels[masking.labels != -100]
    torch.testing.assert_close(out.mlm_loss, F.cross_entropy(out.mlm_logits, targets))
    torch.testing.assert_close(out.sbo_loss, F.cross_entropy(out.sbo_logits, targets))
    torch.testing.assert_close(out.loss, out.mlm_loss + out.sbo_loss)
    out.loss.backward()
    assert model.sbo.dense1.weight.grad.abs().sum() > 0


def test_bad_arguments(tok):
    with pytest.raises(ValueError, match="p must be"):
        span_length_probabilities(0.0)
    with pytest.raises(ValueError, match="max_length"):
        span_length_probabilities(0.2, 0)
    with pytest.raises(ValueError, match=r"\(B, T\)"):
        span_mask(torch.tensor([101, 2000, 102]), tok)
    with pytest.raises(TypeError, match="generator"):
        sample_span_lengths(3, generator=1)


def test_the_head_reads_the_tokens_just_outside_each_span(tok):
    """For random span masks, the SBO network's input for a masked token at t in a span
    first..last is [x(first - 1); x(last + 1); p(t - first + 1)], read from the encoder's
    output: the boundary tokens are exactly the ones just outside the span, [CLS] or
    [SEP] included when the span opens or closes its sentence."""
    sentences = [
        "The cat sat.",
        "A dog barked at the mailman today.",
        "Rain fell all night on the quiet little town by the sea.",
        "Hello there, friend.",
    ]
    batch = tok(sentences, padding=True)  # short rows, padded: spans reach both ends
    ids, attention = batch["input_ids"], batch["attention_mask"]
    torch.manual_seed(0)
    model = SpanBertForPreTraining(
        BertConfig(
            vocab_size=len(tok),
            hidden_size=16,
            num_hidden_layers=1,
            num_attention_heads=2,
            intermediate_size=32,
            max_position_embeddings=32,
        )
    ).eval()
    seen = {}
    model.bert.register_forward_hook(lambda m, a, out: seen.update(x=out.last_hidden_state))
    model.sbo.dense1.register_forward_hook(lambda m, a, out: seen.update(sbo_in=a[0]))
    C = model.config.hidden_size
    at_cls = at_sep = 0
    for seed in range(12):
        masking = span_mask(
            ids, tok, attention_mask=attention, generator=torch.Generator().manual_seed(seed)
        )
        model(masking.input_ids, attention, masking.labels, masking.span_boundaries)
        x, sbo_in = seen["x"], seen["sbo_in"]  # (B, T, C), (M, 3C)
        rows, positions = (masking.labels != -100).nonzero(as_tuple=True)  # row-major
        expected = {}  # (row, t) -> (first - 1, last + 1), from the spans as drawn
        for row, spans in enumerate(masking.spans):
            for first, last, _ in spans:
                for t in range(first, last + 1):
                    expected[row, t] = (first - 1, last + 1)
                at_cls += ids[row, first - 1].item() == tok.cls_token_id
                at_sep += ids[row, last + 1].item() == tok.sep_token_id
        assert sorted(expected) == list(zip(rows.tolist(), positions.tolist(), strict=True))
        assert sbo_in.shape == (len(expected), 3 * C)
        for m, (row, t) in enumerate(zip(rows.tolist(), positions.tolist(), strict=True)):
            left, right = expected[row, t]
            assert torch.equal(sbo_in[m, :C], x[row, left])
            assert torch.equal(sbo_in[m, C : 2 * C], x[row, right])
            place = model.sbo.position_embeddings.weight[t - left]  # 1 = the first token
            assert torch.equal(sbo_in[m, 2 * C :], place)
            assert attention[row, right] == 1  # never padding
    assert at_cls > 0 and at_sep > 0  # both edges of a sentence were boundaries
