"""bertguide: BERT from the tokenizer up, in readable PyTorch, proven equal to transformers.

One kind of code per folder, and the folders show it:

* **the library** (this folder, and ``family/``): what the chapters teach, pure
  PyTorch, no plotting, no caches, importable alone;
* **the chapters' analysis helpers** (``analysis/``): they run a real model and
  measure it (word vectors, embedding parts, model sizes, attention, head patterns);
* **the experiments** (``experiments/``): everything the site trains or measures, one
  ``Run`` description each, the one cache of results, the results that ship;
* **what goes to the browser** (``export/``): the offline attention views, the
  Playground's ONNX graphs and files;
* **the pictures** (``figures/``, one module per chapter): drawing only.

Each rule is a test (``tests/test_layout.py``): the library imports nothing from
``experiments``, ``export`` or ``figures``; ``import bertguide`` imports no experiment;
no import cycle; no private name used across modules.

Where each chapter lives:

=======================================  ===========================================
chapter                                  modules
=======================================  ===========================================
Language models and BERT                 ``figures.language_models``
where the weights come from              ``pretrained``; read and written by
                                         ``checkpoint`` (every model class)
the offline corpora (every chapter)      ``corpus``
Tokenization                             ``basic_tokenizer``, ``tokenizer``,
                                         ``encoding``, ``offsets``,
                                         ``wordpiece_training``,
                                         ``figures.tokenization``
Embeddings                               ``embeddings``, ``analysis.embeddings``,
                                         ``figures.embeddings``
Self-attention and multi-head attention  ``attention``, ``figures.attention``
The encoder stack and model sizes        ``config``, ``model``, ``initialization``,
                                         ``analysis.encoder``, ``figures.encoder``
Contextual vs static embeddings          ``analysis.contextual``, ``figures.contextual``
Visualising attention                    ``analysis.attention_maps``,
                                         ``analysis.patterns``,
                                         ``figures.attention_maps``, ``export.views``
Playground: your own sentence            ``export.playground``,
                                         ``export.playground_heads``,
                                         ``figures.playground``
Pre-training: MLM and NSP                ``masking``, ``pretraining``, ``inference``,
                                         ``training``, ``probing``,
                                         ``experiments.restoring``,
                                         ``experiments.ablation``,
                                         ``experiments.reference_run``,
                                         ``figures.pretraining``
Fine-tuning and transfer learning        ``finetuning``, ``words_and_spans``,
                                         ``metrics``, ``experiments.sentiment``,
                                         ``experiments.sentiment_ablation``,
                                         ``experiments.transfer``,
                                         ``experiments.demo_tasks``,
                                         ``figures.finetuning``
The BERT family                          ``family.albert``, ``family.roberta``,
                                         ``family.bpe``,
                                         ``family.electra``, ``family.spanbert``,
                                         ``family.distillation`` (and the
                                         pieces they share, ``family.common``);
                                         the measured runs
                                         ``experiments.family_runs``,
                                         ``experiments.family_tang``,
                                         ``experiments.family_helpers``;
                                         ``figures.family``
GPT: the autoregressive branch           ``gpt``, ``generation``,
                                         ``experiments.tiny_gpt``,
                                         ``figures.history``, ``figures.gpt``
trained results, shipped and checked     ``experiments``, ``experiments.registry``,
                                         ``experiments.store``,
                                         ``experiments.cache``,
                                         ``experiments.weights``,
                                         ``experiments.fingerprint``,
                                         ``experiments.refresh``,
                                         ``experiments.cloze``,
                                         ``experiments.__main__``
the ``bertguide`` command                ``cli``
the package's version (one place)        ``version``
the argument checks every module shares  ``checks``
=======================================  ===========================================

``training`` is the one loop that pre-training, fine-tuning and distillation share;
``probing`` lets the experiments record a few exact steps of it.

The top level re-exports the core: configuration, weights, tokenizer and model, the
training loop, the pre-training tasks and their reader calls (``fill_mask``,
``next_sentence``, which find the shipped model inside the call), the fine-tuning
heads, and the three calls every reader meets first (``get_attention``,
``plot_attention``, ``attention_view``). A chapter's own helpers are imported from
its module, e.g. ``from bertguide.analysis.contextual import word_vector``, so that
the import line says where the code is. ``import bertguide`` loads neither
matplotlib (figures import it when they draw) nor any figure nor any experiment.
"""

from bertguide import corpus
from bertguide.analysis.attention_maps import Attention, get_attention
from bertguide.attention import (
    BertAttention,
    BertSelfAttention,
    BertSelfOutput,
    scaled_dot_product_attention,
)
from bertguide.basic_tokenizer import BasicTokenizer
from bertguide.config import BertConfig
from bertguide.embeddings import BertEmbeddings
from bertguide.encoding import BatchEncoding
from bertguide.export.views import AttentionView, attention_view
from bertguide.figures.attention_maps import plot_attention
from bertguide.finetuning import (
    BertForQuestionAnswering,
    BertForSequenceClassification,
    BertForTokenClassification,
)
from bertguide.inference import fill_mask, next_sentence
from bertguide.masking import mask_tokens
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
from bertguide.pretraining import BertForPreTraining
from bertguide.tokenizer import TokenizationSteps, WordPieceTokenizer
from bertguide.training import TrainingConfig, TrainingHistory, train
from bertguide.version import __version__
from bertguide.wordpiece_training import train_wordpiece

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
    "BertForPreTraining",
    "BertForQuestionAnswering",
    "BertForSequenceClassification",
    "BertForTokenClassification",
    "BertIntermediate",
    "BertLayer",
    "BertModel",
    "BertModelOutput",
    "BertOutput",
    "BertPooler",
    "BertSelfAttention",
    "BertSelfOutput",
    "PretrainedModelError",
    "TokenizationSteps",
    "TrainingConfig",
    "TrainingHistory",
    "WordPieceTokenizer",
    "__version__",
    "attention_view",
    "corpus",
    "count_parameters",
    "default_model_dir",
    "fill_mask",
    "get_attention",
    "mask_tokens",
    "next_sentence",
    "parameter_breakdown",
    "plot_attention",
    "resolve",
    "scaled_dot_product_attention",
    "train",
    "train_wordpiece",
    "verify_default",
]
