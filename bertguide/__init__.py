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

from bertguide import corpus
from bertguide.pretrained import (
    DEFAULT_MODEL,
    PretrainedModelError,
    default_model_dir,
    resolve,
    verify_default,
)

__version__ = "0.1.0"

__all__ = [
    "DEFAULT_MODEL",
    "PretrainedModelError",
    "__version__",
    "corpus",
    "default_model_dir",
    "resolve",
    "verify_default",
]
