"""Key phrases of an article and the running-topic math."""

from __future__ import annotations

import numpy as np
import pytest

from ingest.topics import assign_topic, key_phrases

ARTICLE = """Lowmere council approves tram line to Port Averill

The Lowmere city council approved a budget of 42 million crowns for the new tram line to
Port Averill on Tuesday. Councillors voted 9 to 4 in favour after a long debate. The tram line
will run 7.5 kilometres from Market Square to the ferry terminal in Port Averill. Mayor Edith
Sorensen said the first trams should carry passengers by 2029. Traders in Port Averill
welcomed the tram line."""


def test_key_phrases_include_the_main_named_entity() -> None:
    """The place the story is about is among its top key phrases."""
    assert "Port Averill" in key_phrases(ARTICLE, k=5)


def test_key_phrases_include_the_main_subject() -> None:
    """The story's recurring subject ("tram line") is a key phrase."""
    assert "tram line" in [phrase.casefold() for phrase in key_phrases(ARTICLE, k=5)]


def test_key_phrases_respect_k_and_do_not_repeat_words() -> None:
    """At most k phrases, none a fragment of a better one."""
    phrases = key_phrases(ARTICLE, k=3)
    assert len(phrases) == 3
    words = [word.casefold() for phrase in phrases for word in phrase.split()]
    assert len(words) == len(set(words))


def test_key_phrases_skip_stopwords() -> None:
    """No phrase is a bare function word."""
    assert not {"the", "to", "of", "in"} & {p.casefold() for p in key_phrases(ARTICLE, k=10)}


def test_key_phrases_of_chinese_text_are_frequent_terms() -> None:
    """Chinese text without spaces gives its repeated terms, without crashing."""
    text = "充电桩行业在2020年大火。特来电是充电桩的领军者。充电桩企业依然没赚到钱。特来电准备上市。"
    phrases = key_phrases(text, k=3)
    assert "充电桩" in phrases and "特来电" in phrases


def test_key_phrases_of_kannada_text_are_words_of_the_text() -> None:
    """Kannada (no stopword list here) still yields whole words from the text."""
    text = "ಬೆಂಗಳೂರು ನಗರದಲ್ಲಿ ಹೊಸ ಮೆಟ್ರೋ ಮಾರ್ಗ ಆರಂಭವಾಗಿದೆ. ಬೆಂಗಳೂರು ಮೆಟ್ರೋ ಪ್ರಯಾಣಿಕರು ಸಂತಸಗೊಂಡಿದ್ದಾರೆ."
    text_words = set(text.replace(".", " ").split())
    phrases = key_phrases(text, k=3)
    assert phrases and all(word in text_words for phrase in phrases for word in phrase.split())


def test_key_phrases_of_empty_text_are_empty() -> None:
    """Nothing in, nothing out."""
    assert key_phrases("", k=5) == [] and key_phrases("   ", k=5) == []


def test_assign_topic_picks_the_nearest_centroid_above_threshold() -> None:
    """A vector close to the second centroid joins it, with its cosine as the score."""
    centroids = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]], dtype=np.float32)
    index, score = assign_topic(np.array([0.1, 0.9, 0.0], dtype=np.float32), centroids, 0.8)
    assert index == 1
    assert score == pytest.approx(0.9 / np.hypot(0.1, 0.9))


def test_assign_topic_below_threshold_starts_nothing() -> None:
    """A vector far from every centroid gets None, and still its best score."""
    centroids = np.array([[1.0, 0.0], [0.0, 1.0]])
    index, score = assign_topic(np.array([1.0, 1.0]), centroids, 0.8)
    assert index is None
    assert score == pytest.approx(np.sqrt(0.5))


def test_assign_topic_threshold_is_inclusive() -> None:
    """A score exactly at the threshold joins the topic."""
    assert assign_topic(np.array([1.0, 0.0]), np.array([[1.0, 0.0]]), 1.0)[0] == 0


def test_assign_topic_ignores_centroid_length() -> None:
    """Unnormalised running means are compared by direction only."""
    index, score = assign_topic(np.array([0.0, 2.0]), np.array([[5.0, 0.0], [0.0, 0.3]]), 0.5)
    assert (index, score) == (1, pytest.approx(1.0))


def test_assign_topic_with_no_topics_yet() -> None:
    """No centroids: no topic, and the lowest possible score."""
    assert assign_topic(np.ones(4), np.zeros((0, 4)), 0.5) == (None, -1.0)


def test_assign_topic_rejects_a_dimension_mismatch() -> None:
    """Vectors from another encoder are refused with the shapes named."""
    with pytest.raises(ValueError, match="dim 3"):
        assign_topic(np.ones(3), np.ones((2, 4)), 0.5)


def test_byline_names_are_not_key_phrases() -> None:
    """The reporter in "By Jane Doe" is not what the story is about."""
    assert "Jane Doe" not in key_phrases("By Jane Doe\n\n" + ARTICLE, k=8)
