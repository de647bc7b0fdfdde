"""What survives clean_text and extract_article_text: the story's words, nothing else."""

from __future__ import annotations

from ingest.text import clean_text, extract_article_text


def test_script_and_style_text_never_survives() -> None:
    """Code inside <script>, <style> and <noscript> is not article text."""
    html = "<p>Council meets.</p><script>var secret = 1;</script><style>p{color:red}</style>"
    html += "<noscript>Enable JavaScript</noscript>"
    assert clean_text(html) == "Council meets."


def test_unclosed_script_keeps_the_text_before_it() -> None:
    """Broken HTML with an unclosed <script> still yields the text before it."""
    assert clean_text("<p>The vote passed.<script>track('x')") == "The vote passed."


def test_comments_and_cdata_are_dropped() -> None:
    """HTML comments and CDATA sections leave no trace."""
    assert clean_text("<p>Open<!-- ad slot --> today<![CDATA[junk]]>.</p>") == "Open today."


def test_entities_are_unescaped() -> None:
    """Named and numeric entities become characters."""
    assert clean_text("<p>Fish &amp; chips &#8217;n&#x2019; &eacute;t&eacute;</p>") == (
        "Fish & chips ’n’ été"
    )


def test_double_escaped_feed_text_is_unescaped_once() -> None:
    """A summary that arrives as escaped text reads as words, not as entities."""
    assert clean_text("L&#8217;&eacute;t&eacute; est chaud.") == "L’été est chaud."


def test_block_elements_become_paragraph_breaks() -> None:
    """Paragraphs, headings and list items are separated by a blank line."""
    text = clean_text("<h2>Budget</h2><p>It passed.</p><ul><li>One</li><li>Two</li></ul>")
    assert text == "Budget\n\nIt passed.\n\nOne\n\nTwo"


def test_br_becomes_a_line_break() -> None:
    """<br> keeps lines apart without starting a new paragraph."""
    assert clean_text("<p>Line one<br/>Line two</p>") == "Line one\nLine two"


def test_whitespace_is_collapsed() -> None:
    """Runs of spaces, tabs, newlines and no-break spaces inside HTML become one space."""
    assert clean_text("<p>  The \n\t council&nbsp;&nbsp; met.  </p>") == "The council met."


def test_inline_tags_do_not_split_words() -> None:
    """<b>, <a> and <span> inside a word leave the word whole."""
    assert clean_text('<p>Low<b>mere</b> <a href="/x">council</a></p>') == "Lowmere council"


def test_figures_forms_and_iframes_are_dropped() -> None:
    """Captions, embedded frames and forms are furniture around the story."""
    html = (
        "<figure><img src='a.jpg'><figcaption>Photo: AP</figcaption></figure>"
        "<iframe src='v'>video</iframe><form><button>Send</button></form><p>The story.</p>"
    )
    assert clean_text(html) == "The story."


def test_plain_text_keeps_its_paragraphs() -> None:
    """A plain-text summary keeps blank-line paragraphs and its line breaks."""
    assert clean_text("First para.\n\n  Second   para\nnext line") == (
        "First para.\n\nSecond para\nnext line"
    )


def test_stray_end_tags_do_not_crash_or_lose_text() -> None:
    """Unmatched end tags and unclosed paragraphs still give all the text."""
    assert clean_text("</div><p>One<p>Two</span></b>") == "One\n\nTwo"


def test_empty_input_gives_empty_text() -> None:
    """No HTML at all gives an empty string."""
    assert clean_text("") == ""


PAGE = """<html><head><title>Bridge opens | Lowmere Times</title>
<script>var analytics = true;</script></head>
<body class="has-sidebar">
<header><nav><a href="/">Home</a> <a href="/world">World</a></nav></header>
<main><article>
<h1>Bridge opens</h1>
<p class="byline">By Jane Doe</p>
<p>The new bridge in Lowmere opened on Tuesday, city officials said, after three years of work.</p>
<p>It cost 3.5 million crowns, according to the council, which approved the budget in 2023.</p>
<div class="share-buttons"><a href="#">Share on Facebook</a></div>
</article>
<aside><p>Related: another story, with commas, many, many of them, here, too.</p></aside></main>
<div id="comments"><p>Great article, really, I loved it, thanks, cheers, yes, indeed.</p></div>
<footer><p>Copyright 2026 Lowmere Times, all rights reserved, and so on, etc.</p></footer>
</body></html>"""


def test_article_extraction_keeps_the_story_paragraphs() -> None:
    """The article's paragraphs come out in order."""
    text = extract_article_text(PAGE)
    assert "The new bridge in Lowmere opened on Tuesday" in text
    assert text.index("opened on Tuesday") < text.index("It cost 3.5 million crowns")


def test_article_extraction_drops_page_furniture() -> None:
    """Menus, sidebars, share buttons, comments, footers and scripts are gone."""
    text = extract_article_text(PAGE)
    for furniture in ("Home", "Related", "Share on Facebook", "Great article", "Copyright"):
        assert furniture not in text
    assert "analytics" not in text


def test_article_extraction_without_paragraphs_falls_back_to_page_text() -> None:
    """A page with no paragraph container still yields its visible text."""
    assert extract_article_text("<body><div>Short notice only</div></body>") == ("Short notice only")


BLOG_PAGE = """<html><body class="single-post sidebar-right"><div id="page">
<div id="cookie-banner">
<p>We use cookies to make this site work, and to measure use, so accept.</p></div>
<div class="entry-content">
<p>The Port Averill fish market opened in its new hall on the east pier on Monday, after 80 years.
</p>
<div class="wp-caption">
<p>The new hall, photographed by Ola Brandt, at dawn, on Monday, in fog.</p></div>
<h2>What traders say</h2>
<p>Traders said the hall was warmer and brighter, and that customers could now park next to it.</p>
</div>
<div class="related-posts">
<p><a href="/a">Kestrel Bridge closure strands ferry passengers, again</a></p></div>
<div id="comments"><ol>
<li><p>About time too, the old quay was freezing, dark, slippery and smelly.</p></li>
<li><p>Will there be parking, and for how many cars, and will it be free, and when?</p></li>
</ol></div>
</div></body></html>"""


def test_blog_page_keeps_subheadings_and_drops_comments_captions_and_related() -> None:
    """On a blog-style page the post body survives, with its subheading, and nothing else."""
    assert extract_article_text(BLOG_PAGE) == (
        "The Port Averill fish market opened in its new hall on the east pier on Monday, "
        "after 80 years.\n\nWhat traders say\n\nTraders said the hall was warmer and brighter, "
        "and that customers could now park next to it."
    )


def test_thousands_of_unclosed_tags_do_not_crash() -> None:
    """Pathologically nested markup still yields its text, and hides its scripts."""
    html = "<div><font>" * 3000 + "Deep text.<script>hidden()</script>"
    assert clean_text(html) == "Deep text."
    assert extract_article_text(html) == "Deep text."


def test_article_written_with_bare_divs_is_extracted() -> None:
    """Paragraphs written as <div>s of text are found like <p>s, menus still dropped."""
    page = (
        "<body><div class='menu'><div><a href='/'>Home</a> <a href='/a'>About</a></div></div>"
        "<div class='story'><div>The harbour board met on Monday, for three hours, in public.</div>"
        "<div>It approved the new fish hall, which will cost 4.8 million crowns, in May.</div>"
        "</div></body>"
    )
    assert extract_article_text(page) == (
        "The harbour board met on Monday, for three hours, in public.\n\n"
        "It approved the new fish hall, which will cost 4.8 million crowns, in May."
    )
