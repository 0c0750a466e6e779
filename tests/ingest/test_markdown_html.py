"""HTML blocks inside Markdown are stored as the text a reader sees; everything else as written."""

from __future__ import annotations

from pathlib import Path

from ingest.chunking import Chunker
from ingest.loaders import load_document
from ingest.markdown_html import render_html, render_html_blocks
from ingest.markdown_inline import plain_inline

ACCORDION = """# Speaking

## Steps

<h3 class="usa-accordion__heading">
<button class="usa-accordion__button" aria-expanded="false">
  Step 1: Join the Speakers Bureau
</button>
</h3>

<div id="a1" class="usa-accordion__content usa-prose" markdown=1>
To represent the agency you must join the bureau. You will need to

- Create a headshot and bio.
- Complete the join form.
</div>
"""


def test_an_accordion_keeps_its_heading_text_and_content_without_markup() -> None:
    out = render_html_blocks(ACCORDION)
    assert "<" not in out, out
    assert "\n### Step 1: Join the Speakers Bureau\n" in out  # a real heading for the chunker
    assert "To represent the agency you must join the bureau. You will need to" in out
    assert "- Create a headshot and bio.\n- Complete the join form.\n" in out  # Markdown kept as written
    assert out.startswith("# Speaking\n\n## Steps\n")


def test_a_table_becomes_rows_and_media_and_scripts_go() -> None:
    html = (
        "<table>\n<tr><th>Desk</th><th>Phone</th></tr>\n<tr><td>IT service desk</td><td>866-450-5250</td></tr>\n"
        "</table>\n"
    )
    assert render_html(html) == "| Desk | Phone |\n| --- | --- |\n| IT service desk | 866-450-5250 |"
    assert render_html('<iframe src="https://video.example/x"></iframe><script>var a = 1;</script>') == ""
    assert render_html('<p>Write to <a href="mailto:desk@x.org">the desk</a>, <a href="/faq">the FAQ</a>.</p>') == (
        "Write to the desk (desk@x.org), the FAQ."
    )
    assert render_html(
        "<details><summary>Why?</summary><p>Because.</p><ul><li>one</li><li>two</li></ul></details>"
    ) == ("Why?\n\nBecause.\n\n- one\n- two")


def test_markdown_without_html_blocks_is_unchanged() -> None:
    text = (
        "# Title\n\nInline <b>bold</b> stays for the inline pass.\n\n"
        "```html\n<div>code</div>\n```\n\n    <td>indented</td>\n"
    )
    assert render_html_blocks(text) == text  # inline HTML, fenced and indented code are not blocks
    assert render_html_blocks("no markup at all\n") == "no markup at all\n"


def test_stray_block_tags_and_email_autolinks_are_cleaned_inline() -> None:
    assert plain_inline("Contact <desk@example.org> or <https://x.example>.") == (
        "Contact desk@example.org or https://x.example."
    )
    assert plain_inline('        <td class="col-key">\n          Office\n        </td>') == (
        "        \n          Office\n        "
    )
    assert plain_inline("Replace <project> with your team.") == "Replace <project> with your team."  # a placeholder


def test_a_handbook_page_with_html_is_stored_and_chunked_clean(tmp_path: Path) -> None:
    path = tmp_path / "speaking.md"
    table = "<table>\n<tr><td>Location</td><td>1800 F St. NW</td></tr>\n</table>\n"
    path.write_text(f"---\ntitle: Speaking\n---\n{ACCORDION}\n## Office\n\n{table}")
    doc = load_document(path, "speaking.md")
    assert "<" not in doc.text, doc.text
    assert "| Location | 1800 F St. NW |" in doc.text
    chunks = Chunker(lambda text: len(text.split()), 200).chunk(doc)
    headings = {c.record.heading_path[-1] for c in chunks if c.record.heading_path}
    assert "Step 1: Join the Speakers Bureau" in headings  # the accordion's heading names its section
