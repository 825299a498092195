"""Actor and event intelligence: the spaCy pipeline, extractors, analyzer and lookups.

Importing this package loads no spaCy module; ``bot.nlp.pipeline.load_nlp`` is the one
function that loads a model, and only ingestion calls it.
"""

from __future__ import annotations

NLP_VERSION = 1  # bump when extraction changes: stored articles are analysed again
