"""The clip library: interview recordings kept once, with who is in them and what they consented to.

A library is a folder. Each clip has a metadata file beside it, ``<id>.yml``::

    file: anne-sykepleier.mp4          # default: <id> with a video extension
    person: Anne Hansen
    role: Sykepleier
    workplace: Tunet sykehjem
    language: no
    tags: [helse, sykehjem]
    consent:                           # personvern: what the person signed
      signed: 2026-01-10
      expires: 2028-01-10
      channels: [all]                  # or a list of channel ids

A campaign uses a clip by id (``clips: {anne: {library: anne-sykepleier}}``), with the
library folder named by the spec's ``library:`` key or ``$REKRUTT_LIBRARY``. Rendering a clip
whose consent is missing, expired or does not cover a channel is refused at validation.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator

from . import yamlpos
from .errors import ClipNotFound, InputError, MediaError, SpecError, SpecProblem
from .files import write_text_atomic
from .languages import language_problem
from .names import slug_problem
from .probe import probe_as

#: Environment variable naming the clip library folder.
LIBRARY_ENV = "REKRUTT_LIBRARY"

VIDEO_EXTENSIONS = (".mp4", ".mov", ".mkv", ".m4v", ".webm", ".avi", ".mxf")


class Consent(BaseModel):
    """What the person in the clip agreed to."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    signed: dt.date = Field(description="date the consent form was signed")
    expires: dt.date = Field(description="last day the clip may be published")
    channels: list[str] = Field(["all"], description="channel ids the consent covers, or [all]")

    @field_validator("expires")
    @classmethod
    def _after_signing(cls, v: dt.date, info: ValidationInfo) -> dt.date:
        signed = info.data.get("signed")
        if isinstance(signed, dt.date) and v < signed:
            raise ValueError(f"the consent ends on {v.isoformat()}, before it is signed on {signed.isoformat()}: "
                             "give the last day the person agreed to be published, on or after the signing date "
                             "(see the consent form)")
        return v

    def covers(self, channel: str) -> bool:
        return "all" in self.channels or channel in self.channels


class ClipMeta(BaseModel):
    """A library clip's metadata file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    file: str | None = Field(None, description="the video, relative to this file (default: <id>.<video ext>)")
    person: str | None = None
    role: str | None = None
    workplace: str | None = None
    language: str | None = None
    tags: list[str] = []
    consent: Consent | None = None

    @field_validator("language")
    @classmethod
    def _check_language(cls, v: str | None) -> str | None:
        problem = language_problem(v) if isinstance(v, str) else None
        if problem:
            raise ValueError(problem)
        return v


@dataclass(frozen=True)
class LibraryClip:
    """A clip found in a library."""

    id: str
    meta: ClipMeta
    meta_path: Path
    video: Path | None  #: None when the file is missing

    def as_dict(self) -> dict:
        data = self.meta.model_dump(mode="json")
        return {"id": self.id, "video": str(self.video) if self.video else None, **data}


def library_dir(spec_value: Path | None, base_dir: Path) -> Path | None:
    """The library folder: the spec's ``library:`` (relative to the spec), else ``$REKRUTT_LIBRARY``."""
    if spec_value is not None:
        return spec_value if spec_value.is_absolute() else base_dir / spec_value
    env = os.environ.get(LIBRARY_ENV)
    return Path(env) if env else None


def check_id(clip_id: str, where: str = "library id") -> None:
    """Refuse an id that is not a slug (it names the clip's files in the library): InputError, exit 2."""
    problem = slug_problem(clip_id, "anne-sykepleier")
    if problem:
        raise InputError(f"{where} {problem} (the id names the clip's files in the library)")


def load_clip(library: Path, clip_id: str) -> LibraryClip:
    """Read one clip's metadata. Raises ClipNotFound (no such id), InputError (an id that is not a slug)
    or SpecError (bad metadata, with positions)."""
    check_id(clip_id)
    meta_path = library / f"{clip_id}.yml"
    if not meta_path.is_file():
        if not library.is_dir():
            raise ClipNotFound(f"no clip library at {library}", str(library))
        raise ClipNotFound(f"no clip '{clip_id}' in the library {library}", str(library), clip_id)
    # the project's one YAML loader: YAML 1.2 booleans (language: no stays Norwegian), positions
    try:
        located = yamlpos.load_file(meta_path)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        raise SpecError([SpecProblem(str(meta_path), mark.line + 1 if mark else None,
                                     mark.column + 1 if mark else None, "", f"YAML syntax error: {exc.problem}",
                                     "fix the metadata file")]) from None
    except (yaml.YAMLError, yamlpos.YamlLimitError, UnicodeDecodeError, OSError) as exc:
        raise SpecError([SpecProblem(str(meta_path), None, None, "", f"cannot read the metadata ({exc})",
                                     "save it as UTF-8 YAML")]) from None
    problems = []
    for dup in located.duplicates:
        problems.append(SpecProblem(str(meta_path), dup.again.line, dup.again.column, ".".join(map(str, dup.loc)),
                                    f"'{dup.loc[-1]}' is given twice (line {dup.first.line} and "
                                    f"line {dup.again.line})", "remove one"))
    data = located.data if located.data is not None else {}
    try:
        if not isinstance(data, dict):
            raise SpecError([SpecProblem(str(meta_path), 1, 1, "", "the metadata must be a mapping (person:, "
                                         "consent:, ...)", "see python cli.py clips add --help for the fields")])
        meta = ClipMeta.model_validate(data)
    except ValidationError as exc:
        for e in exc.errors():
            loc = tuple(e["loc"])
            mark = located.mark(loc, at_key=e["type"] == "extra_forbidden")
            problems.append(SpecProblem(str(meta_path), mark.line if mark else None, mark.column if mark else None,
                                        ".".join(map(str, loc)), e["msg"].removeprefix("Value error, "),
                                        "see python cli.py clips add --help for the fields"))
    if problems:
        raise SpecError(problems)
    if meta.file:
        video = library / meta.file
    else:
        video = next((library / f"{clip_id}{ext}" for ext in VIDEO_EXTENSIONS
                      if (library / f"{clip_id}{ext}").is_file()), library / f"{clip_id}.mp4")
    return LibraryClip(clip_id, meta, meta_path, video if video.is_file() else None)


def list_clips(library: Path) -> list[LibraryClip]:
    """Every clip in a library, by id. Raises ClipNotFound when the folder is missing."""
    if not library.is_dir():
        raise ClipNotFound(f"no clip library at {library}", str(library))
    files = sorted(library.glob("*.yml"))
    misnamed = [SpecProblem(str(p), None, None, "", f"the file's name is not a clip id: "
                            f"{slug_problem(p.stem, 'anne-sykepleier')}", "rename the file and its video")
                for p in files if slug_problem(p.stem)]
    if misnamed:
        raise SpecError(misnamed)
    return [load_clip(library, p.stem) for p in files]


def consent_problems(clip: LibraryClip, uses: list[tuple[str, str]], today: dt.date) -> list[str]:
    """Why this clip may not be published today where it is used (empty when it may).

    ``uses`` are (where, channel) pairs: which edit shows the clip (``version 'anne'``,
    ``the main film``) on which channel; every message names the edits it concerns.
    """
    who = clip.meta.person or "the person in it"
    consent = clip.meta.consent
    shown: dict[str, list[str]] = {}  # where -> its channels
    for where, channel in uses:
        shown.setdefault(where, []).append(channel)
    used_in = "; it is used in " + _and([f"{w} ({', '.join(chs)})" for w, chs in shown.items()]) if shown else ""
    if consent is None:
        return [f"library clip '{clip.id}' ({who}) has no consent on record in {clip.meta_path.name}{used_in}"]
    problems = []
    if consent.expires < today:
        problems.append(f"the consent of {who} for library clip '{clip.id}' expired on "
                        f"{consent.expires.isoformat()}{used_in}")
    elif consent.signed > today:
        problems.append(f"the consent of {who} for library clip '{clip.id}' is dated {consent.signed.isoformat()}, "
                        f"in the future{used_in}")
    uncovered: dict[str, list[str]] = {}  # channel -> the edits that show the clip there
    for where, channel in uses:
        if not consent.covers(channel):
            uncovered.setdefault(channel, []).append(where)
    if uncovered:
        problems.append(f"the consent of {who} for library clip '{clip.id}' (signed {consent.signed.isoformat()}) "
                        "does not cover " + ", ".join(f"{channel} (in {_and(list(dict.fromkeys(where)))})"
                                                      for channel, where in uncovered.items()))
    return problems


def _and(words: list[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def check_video(video: Path) -> None:
    """Refuse (MediaError) a file that is not a video ffprobe can read, before anything goes into a library."""
    _, problem = probe_as(video, "video")
    if problem:
        raise MediaError(str(video), f"{problem[0]} ({problem[1]})")


def meta_from_options(*, person: str, role: str | None, workplace: str | None, language: str, tags: list[str],
                      signed: dt.date, expires: dt.date, channels: list[str]) -> ClipMeta:
    """A clip's metadata from ``clips add``'s options; a bad value is an InputError naming its option
    (consent.expires: --consent-expires)."""
    try:
        # one model from plain data, so that a problem's place reads as its option
        return ClipMeta.model_validate({
            "person": person, "role": role, "workplace": workplace, "language": language, "tags": tags,
            "consent": {"signed": signed, "expires": expires, "channels": channels or ["all"]}})
    except ValidationError as exc:
        raise InputError("; ".join(f"--{'-'.join(map(str, e['loc']))}: {e['msg'].removeprefix('Value error, ')}"
                                   for e in exc.errors())) from None


def add_clip(library: Path, video: Path, clip_id: str, meta: ClipMeta, *, move: bool = False) -> LibraryClip:
    """Put a video into the library with its metadata file. Refuses to replace an existing id, and an id
    that is not a slug (InputError, before anything is written)."""
    check_id(clip_id, "--id")
    library.mkdir(parents=True, exist_ok=True)
    meta_path = library / f"{clip_id}.yml"
    if meta_path.exists():
        raise InputError(f"'{clip_id}' is already in the library {library}; choose another id")
    target = library / f"{clip_id}{video.suffix.lower()}"
    if target.resolve() != video.resolve():
        tmp = target.with_name(f".{target.name}.partial")
        (shutil.move if move else shutil.copyfile)(str(video), str(tmp))
        os.replace(tmp, target)
    data = meta.model_copy(update={"file": target.name}).model_dump(mode="json", exclude_none=True)
    write_text_atomic(meta_path, yaml.safe_dump(data, allow_unicode=True, sort_keys=False))
    return load_clip(library, clip_id)
