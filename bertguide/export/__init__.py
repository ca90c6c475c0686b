"""What the guide hands to a browser: offline attention views and the Playground's files.

Role: the bridge between the library and the web pages (chapters "Visualising
attention" and "Playground: your own sentence"). Nothing here trains; it reads a model
and writes what a page loads:

* ``views``: ``attention_view``, bertviz's head and model views as one self-contained
  HTML block, with d3 and jQuery from ``vendor/`` (the npm files, unchanged, with their
  licences), for notebooks and for the site;
* ``playground``: the embedded model as an ONNX graph for onnxruntime-web (attention
  and hidden states), with the graph surgery that keeps it small (int8 weights);
* ``playground_heads``: the restored MLM and NSP heads as a second ONNX graph, so that
  the Playground's fill-in-the-blank and next-sentence panels run the shipped model.

The library never imports this folder; ``import bertguide`` imports ``views`` only, for
``bg.attention_view``.
"""
