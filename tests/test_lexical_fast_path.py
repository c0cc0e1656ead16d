"""The lexical prior's one-product probability equals scikit-learn's predict_proba."""

import numpy as np

from models.toxicity import LexicalToxicityScorer, _linear_calibrated


def test_fast_probability_is_the_calibrated_ensembles_own():
    scorer = LexicalToxicityScorer().load()
    assert scorer._linear is not None  # the shipped model is the expected kind
    texts = ["you fucking idiot", "great patch, thanks devs", "", "shit shit shit",
             "the servers are down again and support never answers", "moron"]
    x = scorer._vectorizer.transform(texts)
    assert np.allclose(scorer._proba(x), scorer._model.predict_proba(x)[:, 1], atol=1e-12)


def test_a_model_of_another_kind_falls_back_to_sklearn():
    class NotCalibrated:
        classes_ = [0, 1]
    assert _linear_calibrated(NotCalibrated()) is None
