"""bertguide: BERT from the tokenizer up, in readable PyTorch, proven equal to transformers.

Every concept the guide's chapters explain lives in one module here:

========================  =====================================
module                    chapter
========================  =====================================
``pretrained``            where the weights come from
``tokenizer``             Tokenization
``embeddings``            Embeddings
``attention``             Self-attention and multi-head attention
``model``                 The encoder stack
``corpus``                the offline corpora every chapter reads
``visualize``/``figures`` Visualising attention
========================  =====================================
"""

from bertguide import corpus, patterns
from bertguide.attention import (
    BertAttention,
    BertSelfAttention,
    BertSelfOutput,
    scaled_dot_product_attention,
)
from bertguide.config import BertConfig
from bertguide.embeddings import BertEmbeddings
from bertguide.model import (
    BertEncoder,
    BertIntermediate,
    BertLayer,
    BertModel,
    BertModelOutput,
    BertOutput,
    BertPooler,
    count_parameters,
    parameter_breakdown,
)
from bertguide.pretrained import (
    DEFAULT_MODEL,
    PretrainedModelError,
    default_model_dir,
    resolve,
    verify_default,
)
from bertguide.tokenizer import (
    BasicTokenizer,
    BatchEncoding,
    TokenizationSteps,
    WordPieceTokenizer,
)
from bertguide.visualize import (
    Attention,
    AttentionView,
    EmbeddingParts,
    SenseVectors,
    attention_view,
    embedding_parts,
    get_attention,
    model_size_breakdowns,
    plot_attention,
    plot_attention_grid,
    plot_embedding_parts,
    plot_head_view,
    plot_parameter_breakdown,
    plot_pattern_gallery,
    plot_pattern_scores,
    plot_softmax_scaling,
    plot_token_by_layer,
    plot_word_senses,
    word_sense_vectors,
    word_vector,
    word_vectors,
)

__version__ = "0.1.0"

__all__ = [
    "DEFAULT_MODEL",
    "Attention",
    "AttentionView",
    "BasicTokenizer",
    "BatchEncoding",
    "BertAttention",
    "BertConfig",
    "BertEmbeddings",
    "BertEncoder",
    "BertIntermediate",
    "BertLayer",
    "BertModel",
    "BertModelOutput",
    "BertOutput",
    "BertPooler",
    "BertSelfAttention",
    "BertSelfOutput",
    "EmbeddingParts",
    "PretrainedModelError",
    "SenseVectors",
    "TokenizationSteps",
    "WordPieceTokenizer",
    "__version__",
    "attention_view",
    "corpus",
    "count_parameters",
    "default_model_dir",
    "embedding_parts",
    "get_attention",
    "model_size_breakdowns",
    "parameter_breakdown",
    "patterns",
    "plot_attention",
    "plot_attention_grid",
    "plot_embedding_parts",
    "plot_head_view",
    "plot_parameter_breakdown",
    "plot_pattern_gallery",
    "plot_pattern_scores",
    "plot_softmax_scaling",
    "plot_token_by_layer",
    "plot_word_senses",
    "resolve",
    "scaled_dot_product_attention",
    "verify_default",
    "word_sense_vectors",
    "word_vector",
    "word_vectors",
]
