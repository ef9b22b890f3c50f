"""Rendering in CI: workflow templates for a campaigns repository, and annotations for invalid specs.

:func:`init` writes a GitHub Actions workflow or a GitLab CI file and ``ci/render.sh``, the one
script both call, so what CI does can be run and tested locally (``bash ci/render.sh``). The
workflow installs with pip (pip's cache on), restores Rekrutt's cache and the last outputs (so
only what changed renders), renders every spec under ``campaigns/``, shows the JUnit report in
the CI's test view, keeps the outputs as artifacts, and can publish the review pages (opt-in:
they hold unpublished video of employees).

:func:`annotations` turns spec problems into GitHub ``::error`` lines or a GitLab code-quality report.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from .errors import InputError, SpecProblem
from .files import write_text_atomic

RENDER_SH = """\
#!/usr/bin/env bash
# Rekrutt in CI: the one script the workflow runs. Run it locally the same way: bash ci/render.sh
#   REKRUTT            the command (default: rekrutt, from pip install)
#   REKRUTT_OUTPUT     output folder (default: out; restored from the CI cache so unchanged outputs are kept)
#   REKRUTT_CACHE_DIR  Rekrutt's cache (default: .rekrutt-cache; restored from the CI cache)
#   REKRUTT_LIBRARY    the clip library (a mounted share or a Git LFS folder), from a CI variable
#   REKRUTT_SCHEDULER  a Dask scheduler (tcp://host:8786) from a CI secret; unset renders here
#   REKRUTT_ANNOTATIONS github | gitlab | text: how invalid specs are reported
#   REKRUTT_JOBS       outputs rendered at once (default auto: one per core, memory allowing)
set -uo pipefail
REKRUTT="${REKRUTT:-rekrutt}"
OUT="${REKRUTT_OUTPUT:-out}"
export REKRUTT_CACHE_DIR="${REKRUTT_CACHE_DIR:-.rekrutt-cache}"
FORMAT="${REKRUTT_ANNOTATIONS:-github}"
mkdir -p reports
shopt -s nullglob
specs=(campaigns/*.yml campaigns/*.yaml)
if [ ${#specs[@]} -eq 0 ]; then
  echo "no campaign specs under campaigns/" >&2
  exit 2
fi
# 1. Every spec, file and consent is checked before anything renders: an invalid spec, an expired
#    consent, or an output that would break WCAG 2.1 1.2.2 (captions) or 1.2.5 (synstolking) fails the
#    job here (exit 2), with file and line in the CI's annotations.
if [ "$FORMAT" = gitlab ]; then
  $REKRUTT validate --accessibility --format gitlab "${specs[@]}" > reports/gl-code-quality-report.json
else
  $REKRUTT validate --accessibility --format "$FORMAT" "${specs[@]}"
fi
status=$?
if [ $status -ne 0 ]; then
  [ "$FORMAT" = gitlab ] && $REKRUTT validate --accessibility "${specs[@]}"
  exit $status
fi
# 2. Render what changed; a failing output fails the job (exit 1), named in the JUnit report.
$REKRUTT render "${specs[@]}" --out "$OUT" --junit reports/junit.xml --report reports/report.json \\
  --jobs "${REKRUTT_JOBS:-auto}"
status=$?
# 3. Rendered pieces not used for 30 days leave the cache, so that the CI cache does not grow without end.
$REKRUTT cache prune --kind pieces --older-than 30 || true
exit $status
"""

GITHUB = """\
# Rekrutt: render the campaigns in campaigns/ on every push that changes them.
# Written by `rekrutt ci init --github`; what it runs is ci/render.sh (run it locally the same way).
name: Rekrutt

on:
  push:
    paths: ["campaigns/**", "brand/**", "library/**", "ci/render.sh", ".github/workflows/rekrutt.yml"]
  workflow_dispatch:

permissions:
  contents: read
  checks: write  # the JUnit report in the checks view

concurrency:
  group: rekrutt-${{ github.ref }}
  cancel-in-progress: true  # a newer push stops the older render (exit 143, nothing half-written kept)

jobs:
  render:
    runs-on: ubuntu-latest
    timeout-minutes: 120
    env:
      REKRUTT_CACHE_DIR: .rekrutt-cache
      REKRUTT_OUTPUT: out
      REKRUTT_ANNOTATIONS: github
      # Where Rekrutt is installed from: set the repository variable REKRUTT_PACKAGE to your
      # organisation's copy (a git URL or a wheel), e.g. "rekrutt @ git+https://git.example.no/rekrutt".
      REKRUTT_PACKAGE: ${{ vars.REKRUTT_PACKAGE || 'rekrutt' }}
      # Big clips stay out of git: a clip library on a mounted share or in Git LFS, named by a variable.
      REKRUTT_LIBRARY: ${{ vars.REKRUTT_LIBRARY }}
      # Optional scale-out: a Dask scheduler address from a secret; without it, everything renders here.
      REKRUTT_SCHEDULER: ${{ secrets.REKRUTT_SCHEDULER }}
    steps:
      - uses: actions/checkout@v4
        with:
          lfs: true  # clips kept in Git LFS come along
      - uses: actions/setup-python@v5
        with:
          python-version: "3.11"
          cache: pip
          cache-dependency-path: ci/render.sh
      - name: Install Rekrutt
        run: python -m pip install "$REKRUTT_PACKAGE"
      - name: Restore Rekrutt's cache and the last outputs
        uses: actions/cache@v4
        with:
          path: |
            .rekrutt-cache
            out
          # a new key whenever a spec or clip changes (so the new results are saved); older caches are
          # restored by prefix, and their entries are found by content: a changed clip or model misses,
          # everything else hits, and unchanged outputs are not rendered again
          key: rekrutt-${{ runner.os }}-${{ hashFiles('campaigns/**', 'brand/**', 'library/**') }}
          restore-keys: rekrutt-${{ runner.os }}-
      - name: Render
        run: bash ci/render.sh
      - name: Test report
        if: always()
        uses: mikepenz/action-junit-report@v4
        with:
          report_paths: reports/junit.xml
          check_name: Rekrutt outputs
      - name: Keep the outputs
        if: always()
        uses: actions/upload-artifact@v4
        with:
          name: rekrutt-outputs
          path: |
            out
            reports
          retention-days: 14

  # Publishing the review pages to GitHub Pages is OPT-IN: they hold unpublished video of employees
  # (personvern). Use it only where Pages is access-controlled (a private repository in an
  # organisation that restricts Pages to its members); otherwise reviewers download the artifact.
  # Turn it on with the repository variable REKRUTT_PUBLISH_PAGES=true.
  pages:
    if: vars.REKRUTT_PUBLISH_PAGES == 'true' && github.ref_name == github.event.repository.default_branch
    needs: render
    runs-on: ubuntu-latest
    permissions:
      pages: write
      id-token: write
    environment:
      name: github-pages
      url: ${{ steps.deploy.outputs.page_url }}
    steps:
      - uses: actions/download-artifact@v4
        with:
          name: rekrutt-outputs
      - uses: actions/upload-pages-artifact@v3
        with:
          path: out
      - id: deploy
        uses: actions/deploy-pages@v4
"""

GITLAB = """\
# Rekrutt: render the campaigns in campaigns/ on every push that changes them.
# Written by `rekrutt ci init --gitlab`; what it runs is ci/render.sh (run it locally the same way).
# Set in Settings > CI/CD > Variables (never in the repository):
#   REKRUTT_PACKAGE    where Rekrutt is installed from (a git URL or a wheel)
#   REKRUTT_LIBRARY    the clip library on a mounted share (or a Git LFS folder in this repository)
#   REKRUTT_SCHEDULER  optional: a Dask scheduler address, masked; without it everything renders here

stages: [render, publish]

variables:
  REKRUTT_CACHE_DIR: .rekrutt-cache
  REKRUTT_OUTPUT: out
  REKRUTT_ANNOTATIONS: gitlab
  PIP_CACHE_DIR: "$CI_PROJECT_DIR/.pip-cache"
  GIT_STRATEGY: fetch

render:
  stage: render
  image: python:3.11
  interruptible: true
  timeout: 2h
  rules:
    - changes: ["campaigns/**/*", "brand/**/*", "library/**/*", "ci/render.sh", ".gitlab-ci.yml"]
    - if: $CI_PIPELINE_SOURCE == "web"
  cache:
    - key: rekrutt-pip
      paths: [.pip-cache]
    # Rekrutt's cache and the last outputs: entries are found by content, so a changed clip or model
    # misses, everything else hits, and unchanged outputs are not rendered again
    - key: rekrutt-$CI_COMMIT_REF_SLUG
      fallback_keys: [rekrutt-$CI_DEFAULT_BRANCH]
      paths: [.rekrutt-cache, out]
      when: always
  before_script:
    - git lfs pull || true  # clips kept in Git LFS
    - python -m pip install "${REKRUTT_PACKAGE:-rekrutt}"
  script:
    - bash ci/render.sh
  artifacts:
    when: always
    expire_in: 2 weeks
    paths: [out/, reports/]
    reports:
      junit: reports/junit.xml
      codequality: reports/gl-code-quality-report.json

# Publishing the review pages to GitLab Pages is OPT-IN: they hold unpublished video of employees
# (personvern). Use it only with Pages access control on (Settings > General > Visibility: Pages
# for project members only). Turn it on with the CI/CD variable REKRUTT_PUBLISH_PAGES=true.
pages:
  stage: publish
  image: python:3.11
  needs: [render]
  rules:
    - if: $REKRUTT_PUBLISH_PAGES == "true" && $CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH
  script:
    - mkdir -p public && cp -r out/. public/
  artifacts:
    paths: [public]
"""

#: Files each template writes, relative to the repository root.
TEMPLATES = {
    "github": {".github/workflows/rekrutt.yml": GITHUB, "ci/render.sh": RENDER_SH},
    "gitlab": {".gitlab-ci.yml": GITLAB, "ci/render.sh": RENDER_SH},
}


def init(kind: str, root: Path, force: bool = False) -> list[Path]:
    """Write the ``kind`` ("github" or "gitlab") templates into the repository at ``root``; return the files.

    Raises InputError when a file is there already (``force`` replaces it).
    """
    if kind not in TEMPLATES:
        raise InputError(f"unknown CI '{kind}': use one of {', '.join(TEMPLATES)}")
    targets = {root / rel: text for rel, text in TEMPLATES[kind].items()}
    present = [p for p in targets if p.exists()]
    if present and not force:
        raise InputError(f"{', '.join(str(p) for p in present)} already there; --force replaces "
                         f"{'it' if len(present) == 1 else 'them'}")
    for path, text in targets.items():
        write_text_atomic(path, text)
        if path.suffix == ".sh":
            path.chmod(0o755)
    return list(targets)


def _relative(file: str) -> str:
    path = Path(file)
    try:
        return path.resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return path.as_posix()


def _escape_github(text: str) -> str:
    """GitHub's workflow-command escaping of a message (percent, newlines)."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_github_property(text: str) -> str:
    return _escape_github(text).replace(":", "%3A").replace(",", "%2C")


def annotations(problems: list[SpecProblem], fmt: str) -> str:
    """Spec problems as GitHub ``::error`` lines ("github"), a GitLab code-quality report ("gitlab"),
    or the plain ``file:line:column: message`` lines ("text")."""
    if fmt == "github":
        lines = []
        for p in problems:
            where = f"file={_escape_github_property(_relative(p.file))}"
            if p.line is not None:
                where += f",line={p.line}"
                if p.column is not None:
                    where += f",col={p.column}"
            message = f"{p.path}: {p.message}" if p.path else p.message
            if p.hint:
                message += f" ({p.hint})"
            lines.append(f"::error {where},title=Rekrutt::{_escape_github(message)}")
        return "\n".join(lines) + ("\n" if lines else "")
    if fmt == "gitlab":
        issues = []
        for p in problems:
            description = (f"{p.path}: {p.message}" if p.path else p.message) + (f" ({p.hint})" if p.hint else "")
            key = f"{_relative(p.file)}:{p.line}:{p.path}:{p.message}"
            issues.append({
                "description": description, "check_name": "rekrutt-spec", "severity": "blocker",
                "fingerprint": hashlib.sha256(key.encode("utf-8")).hexdigest(),
                "location": {"path": _relative(p.file), "lines": {"begin": p.line or 1}},
            })
        return json.dumps(issues, indent=2, ensure_ascii=False) + "\n"
    return "".join(f"{p}\n" for p in problems)
