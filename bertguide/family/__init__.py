"""The BERT family: each variant a small change to bertguide's own BERT.

Serves the chapter "The BERT family". One module per variant:

    common        BERT without its pooler, narrow (E-wide) embeddings, an MLM head for them
    albert        factorised embeddings, cross-layer sharing, sentence-order prediction
    roberta       static vs dynamic masking, no NSP, full-sentence packing, large batches
    bpe           RoBERTa's kind of vocabulary: a byte-level BPE, trained on the offline corpus
    electra       generator + discriminator, replaced-token detection
    spanbert      geometric span masking, the span-boundary objective
    distillation  Hinton's soft targets, DistilBERT, TinyBERT's layer losses, a BiLSTM student

The layers are always ``bertguide.model.BertLayer``; what changes is around them.
Import from the modules (``from bertguide.family.albert import AlbertModel``).
"""
