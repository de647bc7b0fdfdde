"""Candidate facts: sentences that state something, boilerplate gone; numbers and words."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.facts import candidate_facts, split_sentences
from ingest.text import clean_text
from kb.words import content_words, numbers_in, word_overlap


def test_abbreviations_and_decimals_do_not_split_a_sentence() -> None:
    """U.S. officials said 3.5 million... stays one sentence, as do Mr. and Dr."""
    text = "U.S. officials said 3.5 million people were affected. Mr. Lee met Dr. Ross on Friday."
    assert split_sentences(text) == [
        "U.S. officials said 3.5 million people were affected.",
        "Mr. Lee met Dr. Ross on Friday.",
    ]


def test_initials_do_not_split_a_sentence() -> None:
    """John F. Kennedy is one name, not two sentences."""
    assert split_sentences("John F. Kennedy visited Berlin in 1963. The speech was famous.") == [
        "John F. Kennedy visited Berlin in 1963.",
        "The speech was famous.",
    ]


def test_lowercase_after_e_g_is_not_a_new_sentence() -> None:
    """An "e.g." followed by lower case continues the sentence."""
    assert len(split_sentences("Some fruit, e.g. apples, was sold at the market.")) == 1


def test_brand_names_in_lower_case_can_open_a_sentence() -> None:
    """A sentence starting with "iOS" or "eBay" is still a new sentence."""
    assert split_sentences("The update shipped late. iOS 11.2 fixed the bug.") == [
        "The update shipped late.",
        "iOS 11.2 fixed the bug.",
    ]


def test_missing_space_after_a_question_mark_still_splits() -> None:
    """A sloppy feed's "do?Archiving" is two sentences."""
    assert split_sentences("What does it do?Archiving frees up space.") == [
        "What does it do?",
        "Archiving frees up space.",
    ]


def test_german_ordinal_dates_do_not_split() -> None:
    """German "am 7. Februar" is a date, not a sentence end."""
    assert split_sentences("Am 7. Februar beginnt die Messe. Sie dauert drei Tage.") == [
        "Am 7. Februar beginnt die Messe.",
        "Sie dauert drei Tage.",
    ]


def test_quotes_close_with_their_sentence() -> None:
    """A closing quote stays with the sentence it ends."""
    assert split_sentences('She said: "We will build it." Work starts in May.') == [
        'She said: "We will build it."',
        "Work starts in May.",
    ]


def test_cjk_full_stops_split_without_spaces() -> None:
    """Chinese 。 and ！ end sentences even with no space after them."""
    assert split_sentences("特斯拉一家公司在12月暴涨。市值均翻了几倍！") == [
        "特斯拉一家公司在12月暴涨。",
        "市值均翻了几倍！",
    ]


def test_boilerplate_lines_are_dropped() -> None:
    """Read more, bylines, post footers, cookies, newsletters, credits and ads are not facts."""
    text = "\n\n".join(
        [
            "By Jane Doe",
            "By Jane Doe and John Roe, Staff Reporters",
            "Reporting by Sam Okafor; Editing by Ann Lee",
            "The council approved the new tram line to the harbour on Tuesday.",
            "Read more",
            "Continue reading",
            "The post Tram approved appeared first on City Times.",
            "We use cookies to improve your experience on our site.",
            "Subscribe to our newsletter for the latest news every morning.",
            "Photo: Ola Brandt / City Times",
            "Follow us on Twitter for more harbour news and updates.",
            "Click here to sign up for travel alerts.",
            "© 2026 The City Times. All rights reserved.",
            "Advertisement",
            "12 Comments",
        ]
    )
    assert candidate_facts(text) == ["The council approved the new tram line to the harbour on Tuesday."]


def test_news_about_privacy_ads_or_comments_is_kept() -> None:
    """Sentences that merely mention privacy policies, ads or comments are still facts."""
    news = [
        "Meta changed its privacy policy in 2023.",
        "Advertisement spending rose 5% in 2025.",
        "Comments by the mayor angered the council.",
        "Users who subscribe to the service pay 5 euros a month.",
        "By 2030 the city will have 40 new buses.",
    ]
    assert candidate_facts("\n".join(news)) == news


def test_inline_image_credit_and_elision_marks_are_removed() -> None:
    """Image credits in brackets and "[…]" vanish from a sentence that is otherwise kept."""
    facts = candidate_facts("The harbour board paid 4.8 million crowns [...] for the new hall.")
    assert facts == ["The harbour board paid 4.8 million crowns for the new hall."]
    assert candidate_facts("(Image credit: Getty) The fish market moved to the east pier.") == [
        "The fish market moved to the east pier."
    ]


def test_truncated_teaser_is_dropped() -> None:
    """A summary cut off with "[…]" or "…" does not become a half fact."""
    cut = clean_text("<p>The council said that the tram line would [&#8230;]</p>")
    assert candidate_facts(cut) == []
    assert candidate_facts("The council said that the tram line would…") == []


def test_questions_and_short_fragments_are_not_facts() -> None:
    """Questions and two-word fragments state nothing."""
    assert candidate_facts("Is this the end of the password for banks? Rayman returns!") == []


def test_title_is_the_first_candidate_when_it_is_a_statement() -> None:
    """A declarative headline is kept, ahead of the body."""
    facts = candidate_facts("The line will have 11 stops in total.", title="Lowmere approves tram line")
    assert facts == ["Lowmere approves tram line", "The line will have 11 stops in total."]


def test_site_name_after_a_pipe_is_cut_from_the_title() -> None:
    """A title like "Headline | Site" keeps only the headline."""
    facts = candidate_facts("", title="Lowmere approves the harbour bridge | City Times")
    assert facts == ["Lowmere approves the harbour bridge"]


def test_question_title_is_not_a_candidate() -> None:
    """A headline that asks a question is not a fact."""
    assert candidate_facts("", title="Is this the end of the password?") == []


def test_exact_repeats_are_kept_once() -> None:
    """The same sentence twice (case and spacing aside) is one candidate."""
    text = "The bridge reopened on Sunday morning.\n\nThe  bridge reopened on Sunday morning."
    assert candidate_facts(text, title="the bridge reopened on sunday morning") == [
        "the bridge reopened on sunday morning"
    ]


def test_sentences_differing_only_in_a_number_are_both_kept() -> None:
    """Profits that "rose 5%" and "rose 7%" are two facts, not a repeat."""
    text = "Profits at the bakery rose 5% in May.\nProfits at the bakery rose 7% in May."
    assert len(candidate_facts(text)) == 2


def test_script_text_in_feed_html_never_becomes_a_fact() -> None:
    """Feed HTML with a script: its code is nowhere in the candidates."""
    html = "<p>The library reopened on Monday after two years.</p><script>var x='SECRET'</script>"
    assert candidate_facts(clean_text(html)) == ["The library reopened on Monday after two years."]


def test_numbers_are_normalised() -> None:
    """1,000 == 1000, 3,5 % == 3.5%, and 3.5 million == 3,500,000."""
    assert numbers_in("1,000 people") == numbers_in("1000 people") == frozenset({"1000"})
    assert numbers_in("rose 3,5 %") == numbers_in("rose 3.5 percent") == frozenset({"3.5%"})
    assert numbers_in("3.5 million crowns") == numbers_in("3,500,000 crowns")


def test_money_shorthand_and_spaced_thousands_are_normalised() -> None:
    """£95m, $95 million, 95,000,000 and 95 000 000 are one number."""
    expected = frozenset({"95000000"})
    assert numbers_in("a £95m deal") == numbers_in("a $95 million deal") == expected
    assert numbers_in("95,000,000 people") == numbers_in("95 000 000 people") == expected


def test_numbers_keep_years_and_decimals() -> None:
    """Years stay years, decimals lose only trailing zeros, German thousands parse."""
    assert numbers_in("In 2023 it cost 2.50 euros, in 2024 1.234.567,8.") == frozenset(
        {"2023", "2.5", "2024", "1234567.8"}
    )


def test_numbers_inside_words_are_not_numbers() -> None:
    """Model names like "A320" or "G4" state no number."""
    assert numbers_in("The A320 and the G4 flew.") == frozenset()


def test_content_words_drop_stopwords_and_case() -> None:
    """Function words in several languages are ignored, the rest is lower-cased."""
    assert content_words("The Council and der Rat approved le budget") == {
        "council",
        "rat",
        "approved",
        "budget",
    }


def test_content_words_fold_english_plurals_and_possessives() -> None:
    """Two wordings, "crowns" and "crown", share the word; so do "Lowmere's" and "Lowmere"."""
    assert content_words("Lowmere's crowns") == content_words("Lowmere crown")


def test_content_words_keep_kannada_words_whole() -> None:
    """Combining vowel signs do not cut Kannada words apart."""
    assert content_words("ಕನ್ನಡ ಸುದ್ದಿ") == {"ಕನ್ನಡ", "ಸುದ್ದಿ"}


def test_word_overlap_is_relative_to_the_shorter_text() -> None:
    """All of a short sentence's words found in a longer one gives 1.0."""
    short = "Lowmere bridge opened Tuesday."
    long = "On Tuesday the new Lowmere bridge opened after three years of delays."
    assert word_overlap(short, long) == 1.0
    assert word_overlap("Fish market moved.", "Tram line approved.") == 0.0
    assert word_overlap("", "Tram line approved.") == 0.0


FEEDS = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "news" / "feeds"


@pytest.mark.skipif(not FEEDS.is_dir(), reason=f"real feed snapshots not found at {FEEDS}")
def test_real_feed_snapshots_yield_facts_for_most_items() -> None:
    """Through feedparser + clean_text + candidate_facts, at least 90% of real items give facts."""
    import feedparser

    items = with_facts = 0
    for path in sorted(FEEDS.iterdir()):
        if path.suffix == ".tsv":
            continue
        for entry in feedparser.parse(path.read_bytes()).entries:
            body = (entry.get("content") or [{}])[0].get("value") or entry.get("summary", "")
            items += 1
            with_facts += bool(candidate_facts(clean_text(body), entry.get("title")))
    assert items > 500
    assert with_facts / items >= 0.9
