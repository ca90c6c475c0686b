"""RoBERTa: full-sentence packing, static vs dynamic masks, MLM only, large batches."""

import pytest
import torch

from bertguide.config import BertConfig
from bertguide.corpus import sentence_documents
from bertguide.family.roberta import (
    EQUAL_COMPUTE_BATCHES,
    DynamicMasking,
    StaticMasking,
    count_distinct_masks,
    large_batch_config,
    masked_coverage,
    mlm_only_loss,
    pack_full_sentences,
)
from bertguide.masking import MaskingVocab, PreTrainingCollator, make_nsp_pairs
from bertguide.pretraining import BertForPreTraining


@pytest.fixture(scope="module")
def documents():
    return sentence_documents("lee", "train")[:30]


@pytest.fixture(scope="module")
def packed(documents, tok):
    return pack_full_sentences(documents, tok, max_length=64)


# --- full sentences ---------------------------------------------------------------------


def encoded(documents, tok, budget):
    return {
        (d, s): tok.encode(text, add_special_tokens=False)[:budget]
        for d, document in enumerate(documents)
        for s, text in enumerate(document)
    }


@pytest.mark.parametrize("cross_documents", [True, False])
def test_packing_keeps_every_sentence_whole_and_in_order(documents, tok, cross_documents):
    max_length = 64
    examples = pack_full_sentences(
        documents, tok, max_length=max_length, cross_documents=cross_documents
    )
    ids = encoded(documents, tok, max_length - 2)
    cls, sep = tok.cls_token_id, tok.sep_token_id
    order = [where for e in examples for where in e["sentences"]]
    assert order == [key for key in ids if ids[key]]  # every sentence, once, in order
    for i, example in enumerate(examples):
        tokens = example["input_ids"]
        assert len(tokens) <= max_length
        assert tokens[0] == cls and tokens[-1] == sep
        expected = []
        for k, (d, s) in enumerate(example["sentences"]):
            if k and d != example["sentences"][k - 1][0]:
                expected.append(sep)  # the extra separator between documents
            expected.extend(ids[d, s])
        assert tokens[1:-1] == expected
        documents_in = {d for d, _ in example["sentences"]}
        if not cross_documents:
            assert len(documents_in) == 1
        # greedy: the next sentence would not have fit
        if i + 1 < len(examples):
            d_next, s_next = examples[i + 1]["sentences"][0]
            extra = 1 if cross_documents and d_next != example["sentences"][-1][0] else 0
            ends_document = not cross_documents and d_next != example["sentences"][-1][0]
            assert ends_document or len(tokens) + extra + len(ids[d_next, s_next]) > max_length


def test_full_sentences_cross_documents_and_fill_the_inputs(documents, tok, packed):
    crossing = [e for e in packed if len({d for d, _ in e["sentences"]}) > 1]
    assert crossing  # some inputs run on into the next document
    doc_sentences = pack_full_sentences(documents, tok, max_length=64, cross_documents=False)
    assert len(doc_sentences) > len(packed)  # DOC-SENTENCES leaves shorter inputs

    def mean(examples):
        return sum(len(e["input_ids"]) for e in examples) / len(examples)

    assert mean(packed) > 0.7 * 64  # sentences of ~25 tokens: two fit, a third rarely
    assert mean(packed) > mean(doc_sentences)


# --- static vs dynamic masking --------------------------------------------------------------


def test_static_masking_repeats_its_masks(packed, tok):
    once = StaticMasking(packed, tok, duplicates=1, seed=0)
    assert count_distinct_masks(once, 5).tolist() == [1] * len(packed)
    three = StaticMasking(packed, tok, duplicates=3, seed=0)
    counts = count_distinct_masks(three, 6)
    assert counts.max() == 3 and (counts == 3).float().mean() > 0.95
    assert three.epoch(4) is three.epoch(1)  # pass e reads copy e % 3
    assert len(three.dataset) == 3 * len(packed)


def test_dynamic_masking_gives_a_new_mask_every_epoch(packed, tok):
    dynamic = DynamicMasking(packed, tok, seed=0)
    counts = count_distinct_masks(dynamic, 6)
    assert (counts == 6).float().mean() > 0.95  # 64-token inputs: the masks never repeat


def test_coverage_static_stays_dynamic_grows_as_predicted(packed, tok):
    packed = packed[:60]
    vocab = MaskingVocab.from_tokenizer(tok)
    lengths = torch.tensor([len(e["input_ids"]) for e in packed])
    candidates = torch.tensor(
        [int((~torch.isin(torch.tensor(e["input_ids"]), vocab.special_ids)).sum()) for e in packed]
    )
    chosen = torch.clamp(torch.round(0.15 * candidates), min=1)  # mask_tokens' exact count
    static = masked_coverage(StaticMasking(packed, tok, duplicates=1), 10)
    torch.testing.assert_close(static, chosen / lengths)  # one mask, whatever the epochs
    E = 10
    dynamic = masked_coverage(DynamicMasking(packed, tok, seed=1), E)
    expected = candidates / lengths * (1 - (1 - chosen / candidates) ** E)
    assert abs(dynamic.mean() - expected.mean()) < 0.02
    assert dynamic.mean() > 0.7 > 0.2 > static.mean()


def test_pipelines_feed_the_collator(packed, tok):
    static = StaticMasking(packed[:4], tok, duplicates=2)
    dynamic = DynamicMasking(packed[:4], tok, seed=0)
    kept = static.collate_fn(static.dataset[:4])
    assert (
        kept["labels"].tolist()[0][: len(packed[0]["input_ids"])] == static.copies[0][0]["labels"]
    )
    first, second = dynamic.collate_fn(dynamic.dataset), dynamic.collate_fn(dynamic.dataset)
    assert not torch.equal(first["labels"], second["labels"])  # a new mask each call


# --- MLM only, large batches -----------------------------------------------------------------


def test_mlm_only_loss_drops_next_sentence_prediction(documents, tok):
    config = BertConfig.tiny(vocab_size=len(tok), num_hidden_layers=1, max_position_embeddings=64)
    torch.manual_seed(0)
    model = BertForPreTraining(config).eval()  # no dropout: two calls, one result
    pairs = make_nsp_pairs(documents[:4], tok, max_length=32)
    batch = PreTrainingCollator(tok, generator=torch.Generator().manual_seed(0))(pairs[:4])
    assert "next_sentence_label" in batch
    loss = mlm_only_loss(model, batch)
    full = model(**batch)
    torch.testing.assert_close(loss, full.mlm_loss)
    assert full.loss > loss  # with NSP, the loss would have had a second term
    loss.backward()
    assert model.cls.seq_relationship.weight.grad is None
    assert model.cls.predictions.transform.dense.weight.grad is not None


def test_equal_compute_rows_see_the_same_number_of_sequences():
    sequences = {b: b * steps for b, (steps, _) in EQUAL_COMPUTE_BATCHES.items()}
    assert sequences[256] == sequences[2_048] == 256_000_000
    assert abs(sequences[8_192] / sequences[256] - 1) < 0.01  # 31K steps, rounded


def test_large_batch_config_accumulates_micro_batches():
    config = large_batch_config(2_048, 64)
    assert config.gradient_accumulation_steps == 32
    assert (config.learning_rate, config.max_steps) == (7e-4, 125_000)
    assert config.adam_betas == (0.9, 0.98)
    custom = large_batch_config(96, 32, learning_rate=1e-3, max_steps=10)
    assert (custom.gradient_accumulation_steps, custom.max_steps) == (3, 10)
    with pytest.raises(ValueError, match="learning_rate"):
        large_batch_config(96, 32)
    with pytest.raises(ValueError, match="multiple"):
        large_batch_config(100, 32, learning_rate=1e-3)


def test_bad_arguments(documents, tok, packed):
    with pytest.raises(ValueError, match="max_length"):
        pack_full_sentences(documents, tok, max_length=2)
    with pytest.raises(TypeError, match="tokenizer"):
        pack_full_sentences(documents, "tok")
    with pytest.raises(ValueError, match="duplicates"):
        StaticMasking(packed, tok, duplicates=0)
    with pytest.raises(TypeError, match="pipeline"):
        count_distinct_masks(packed, 3)
