"""Names and links that reach a file system or a viewer, and links planted in the output folder (issue 20).

Three classes, each through the CLI as a hostile user runs it: a link that is not a web address
(its QR code would be a script), a name that is a path (it would write outside its folder, or
fail half-way with a traceback), and a symbolic link in the output folder (it would be followed).
Each ends with exit 2, the place and what to do, and nothing written.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipeline.names import SLUG_MAX, link_problem, slug_problem
from tests.test_hostile import anne, campaign, no_traceback, run, spec_text  # noqa: F401 (anne: a fixture)

LONG = "a" * 300


def _files(root: Path) -> set[Path]:
    return {p for p in root.rglob("*")}


# --------------------------------------------------------------------------- links

@pytest.mark.parametrize("url, words", [
    ("javascript:alert(document.domain)//", ["'javascript:' addresses are not allowed"]),
    ("JavaScript:alert(1)", ["'JavaScript:' addresses are not allowed"]),
    ("data:text/html,<script>alert(1)</script>", ["'data:' addresses are not allowed"]),
    ("file:///etc/passwd", ["'file:' addresses are not allowed"]),
    ("ftp://ftp.kommune.no/jobb", ["'ftp:' addresses are not allowed"]),
    ("https:///jobb", ["is not a web address starting with https://"]),
    ("https:www.kommune.no", ["is not a web address starting with https://"]),
    ("www.kommune.no/jobb", ["is not a web address starting with https://"]),
    ("https://localhost/jobb", ["has no host name"]),
    ("https://www.kommune.no@evil.example/jobb", ["user name or password"]),
    ("https://www.kommune.no:99999/jobb", ["invalid port number"]),
])
def test_a_link_that_is_not_a_web_address_is_refused_at_its_line(tmp_path, anne, url, words):
    text = spec_text().replace("    duration: 1", f"    url: '{url}'\n    duration: 1")
    spec = campaign(tmp_path, anne, text)
    line = next(i for i, ln in enumerate(text.splitlines(), 1) if ln.strip().startswith("url:"))
    result = run("validate", str(spec))
    no_traceback(result)
    assert result.exit_code == 2, result.output
    assert f"campaign.yml:{line}:" in result.output and "cards.end.url" in result.output, result.output
    assert "https://www.kommune.no/jobb" in result.output  # what to write instead
    for w in words:
        assert w in result.output, result.output
    # a version's own cards carry links by the same rule
    version = spec_text() + f"versions:\n  kort:\n    cards:\n      end: {{lines: [Hei], url: '{url}'}}\n"
    result = run("validate", str(campaign(tmp_path, anne, version)))
    assert result.exit_code == 2 and "versions.kort.cards.end.url" in result.output, result.output


def test_a_plain_http_link_is_accepted_with_a_warning(tmp_path, anne):
    text = spec_text().replace("    duration: 1", "    url: http://www.kommune.no/jobb\n    duration: 1")
    result = run("validate", str(campaign(tmp_path, anne, text)))
    assert result.exit_code == 0, result.output
    assert "warning:" in result.output and "cards.end.url" in result.output
    assert "is not encrypted (http://)" in result.output and "write https://" in result.output
    https = text.replace("http://", "https://")
    result = run("validate", str(campaign(tmp_path, anne, https)))
    assert result.exit_code == 0 and "warning" not in result.output, result.output


@given(st.text(max_size=40))
def test_every_accepted_link_is_https_or_http_with_a_host(text):
    for value in (text, "https://" + text, "javascript:" + text):
        if link_problem(value) is None:
            assert value.lower().startswith(("https://", "http://"))
            assert not any(ch.isspace() for ch in value)
            assert "@" not in value.split("/")[2]


# --------------------------------------------------------------------------- names

@pytest.mark.parametrize("clip_id, words", [
    ("../x", ["'../x' is not a name"]),
    ("../../escaped", ["'../../escaped' is not a name"]),
    ("/abs/x", ["'/abs/x' is not a name"]),
    ("a/b", ["'a/b' is not a name"]),
    ("anne\n", ["'anne\\n' is not a name"]),
    ("Anne", ["'Anne' is not a name"]),
    (LONG, ["is 300 characters long", f"at most {SLUG_MAX}"]),
])
def test_clips_add_refuses_an_id_that_is_not_a_name_before_writing(tmp_path, anne, clip_id, words):
    lib = tmp_path / "sub" / "lib"
    before = _files(tmp_path)
    result = run("clips", "add", str(anne), "--library", str(lib), "--id", clip_id.replace("/abs", str(tmp_path)),
                 "--person", "A", "--consent-signed", "2026-01-01", "--consent-expires", "2099-01-01")
    no_traceback(result)
    assert result.exit_code == 2, result.output
    assert "--id" in result.output and "names the clip's files in the library" in result.output, result.output
    for w in words:
        assert w.replace("/abs", str(tmp_path)) in result.output, result.output
    assert _files(tmp_path) == before  # not a byte written: no library folder, no clip, no metadata
    result = run("clips", "show", "--library", str(lib), clip_id)  # nor read by a path
    assert result.exit_code == 2 and "library id" in result.output and words[0].split()[0] in result.output


def _spec_with(where: str, name: str) -> str:
    """The hostile spec with ``name`` as its campaign slug, a version name, a clip id, a card id or a library id."""
    text = spec_text()
    quoted = '"' + name.replace("\n", "\\n") + '"'
    if where == "campaign":
        return text.replace("campaign: hostile", f"campaign: {quoted}")
    if where == "version":
        return text + f"versions:\n  {quoted}: {{max_duration: 2}}\n"
    if where == "clip":
        return text.replace("  anne:\n", f"  {quoted}:\n").replace("clip: anne", f"clip: {quoted}")
    if where == "card":
        return text.replace("  end:\n", f"  {quoted}:\n").replace("card: end", f"card: {quoted}")
    assert where == "library"
    return text.replace("    source: clips/anne.mp4", f"    library: {quoted}") + "library: lib\n"


@pytest.mark.parametrize("where, key", [("campaign", "campaign"), ("version", "versions"), ("clip", "clips"),
                                        ("card", "cards"), ("library", "clips.anne.library")])
@pytest.mark.parametrize("name", ["x\n", "../x", "/abs", "a/b", LONG])
def test_a_name_that_reaches_the_file_system_is_one_slug_rule(tmp_path, anne, cache_dir, where, key, name):
    spec = campaign(tmp_path, anne, _spec_with(where, name))
    result = run("validate", str(spec))
    no_traceback(result)
    assert result.exit_code == 2, result.output
    assert "campaign.yml:" in result.output and f" {key}" in result.output, result.output
    assert ("at most 64" if name == LONG else "is not a name: use lowercase letters, digits and dashes") \
        in result.output, result.output
    result = run("render", str(spec), "--no-captions", cache=cache_dir)
    assert result.exit_code == 2 and "nothing was rendered" in result.output, result.output
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("name", ["main", "draft"])
def test_a_version_cannot_take_a_folder_name_of_its_own(tmp_path, anne, name):
    result = run("validate", str(campaign(tmp_path, anne, _spec_with("version", name))))
    assert result.exit_code == 2 and f"'{name}' cannot name a version" in result.output, result.output


def test_the_longest_name_fits_every_file_it_names(tmp_path, anne, cache_dir):
    name = "a" * SLUG_MAX
    text = _spec_with("campaign", name).replace("clips:\n  anne:", f"clips:\n  {name}:").replace(
        "clip: anne", f"clip: {name}") + f"versions:\n  {name}: {{max_duration: 3}}\n"
    result = run("render", str(campaign(tmp_path, anne, text)), "--no-captions", cache=cache_dir)
    no_traceback(result)
    assert result.exit_code == 0, result.output
    assert (tmp_path / "out" / name / name / f"{name}.otio").is_file()


@given(st.text(max_size=80))
def test_an_accepted_name_is_one_plain_file_name(text):
    for name in (text, text + "\n", "a" + text):
        if slug_problem(name) is None:
            assert Path(name).name == name and name not in (".", "..") and len(name) <= SLUG_MAX
            assert name.isascii() and name == name.strip() and name == name.lower()


# --------------------------------------------------------------------------- links planted in the output folder

@pytest.mark.parametrize("planted", [".manifest.json.lock", "main.cards", "x.mp4", ""])
def test_a_planted_link_in_the_output_folder_is_refused_before_rendering(tmp_path, anne, cache_dir, planted):
    spec = campaign(tmp_path, anne)
    target = tmp_path / "elsewhere"
    target.mkdir()
    folder = tmp_path / "out" / "hostile"
    folder.parent.mkdir()
    if planted:
        folder.mkdir()
    link = folder / planted if planted else folder
    link.symlink_to(target if planted in ("main.cards", "") else target / "file")
    result = run("render", str(spec), "--no-captions", cache=cache_dir)
    no_traceback(result)
    assert result.exit_code == 2, result.output
    assert f"{link} -> {link.readlink()}" in result.output, result.output
    assert "symbolic link in the output folder" in result.output and "remove it" in result.output
    assert "nothing was written" in result.output
    assert list(target.iterdir()) == []  # nothing followed the link
    assert sorted(p.name for p in folder.iterdir()) == ([planted] if planted else [])
    result = run("review", str(spec), cache=cache_dir)  # the review page is written there too
    assert result.exit_code == 2 and "symbolic link in the output folder" in result.output, result.output
    assert list(target.iterdir()) == []
