"""``review SPEC --serve``: the review page served on this machine, whose desk saves and renders drafts.

The page is served on 127.0.0.1 only, on a free port the system picks, under a secret token that is
the first part of every path (``http://127.0.0.1:PORT/<token>/``), so the page's relative addresses
(videos, posters, the API) carry it without a cookie. A request is refused (403) without the token,
with another ``Host`` (a DNS-rebinding page) or ``Origin`` (another site's script), and for any file
outside the campaign's output folder. The stdlib's ``http.server`` is enough for one producer's
browser; nothing is installed.

What the page sends is checked as the pipeline checks the files (:mod:`pipeline.desk`) and written
atomically: ``POST api/transcript`` (a clip's SRT), ``POST api/script`` (the description script's
corrections). The answer comes as soon as the file is written. Loading the campaign again with the
file (which re-times a corrected transcript's words to the sound with Whisper: seconds for a short
clip, minutes for a long interview on a busy machine) is a background job, as is ``POST api/drafts``,
the drafts (``draft=True``) of the outputs the correction changes. The jobs run one at a time in one
worker thread, in the order asked; ``GET api/jobs/<id>`` is a job's state, progress and problems
(a saved file the campaign no longer loads with: each problem with its file and line), which the
page polls. Drafts wait for no reload: they are refused while the campaign is being loaded again or
does not load.
"""

from __future__ import annotations

import dataclasses
import hmac
import json
import logging
import mimetypes
import queue
import re
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

from . import ffmpeg as ff
from . import progress
from .campaign import Campaign
from .desk import MAX_POST, save_script, save_transcript
from .errors import InputError, RekruttError, SpecError
from .jobs import Event, RenderOptions, render_batch
from .review import review_html

log = logging.getLogger("rekrutt")

#: Loads the campaign afresh (after a save, and for a draft render of some versions and channels).
Loader = Callable[..., Campaign]


@dataclass
class Job:
    """A background job of the served page: ``reload`` (the campaign loaded again after a save, which
    re-times a corrected transcript) or ``drafts`` (which outputs: version ("main") -> channels)."""

    id: str
    kind: str  #: reload or drafts
    outputs: dict[str, list[str]] = field(default_factory=dict)
    file: str = ""  #: the saved file a reload loads the campaign with
    state: str = "waiting"  #: waiting, running, done or failed
    #: drafts: "<campaign>[/<version>]/<channel>" -> 0..1; a reload: each long stage's task -> 0..1
    progress: dict[str, float] = field(default_factory=dict)
    error: str = ""
    problems: list[str] = field(default_factory=list)  #: a reload's problems, each with its file:line
    folder: str = ""
    started: float | None = None
    ended: float | None = None

    @property
    def active(self) -> bool:
        return self.state in ("waiting", "running")

    def as_json(self) -> dict:
        done = list(self.progress.values())
        fraction = 1.0 if self.state == "done" else (sum(done) / len(done) if done else 0.0)
        elapsed = ((self.ended or time.monotonic()) - self.started) if self.started is not None else 0.0
        return {"id": self.id, "kind": self.kind, "state": self.state, "outputs": self.progress,
                "error": self.error, "problems": self.problems, "file": self.file, "folder": self.folder,
                "fraction": round(fraction, 3), "elapsed": round(elapsed, 1)}


class DeskServer(ThreadingHTTPServer):
    """The served review page of one campaign (see the module's note); ``url`` is what to open."""

    daemon_threads = True

    def __init__(self, load: Loader, transcriber=None, options: RenderOptions = RenderOptions(),
                 lang: str | None = None, port: int = 0):
        self.load, self.transcriber, self.options, self.lang = load, transcriber, options, lang
        self.token = secrets.token_urlsafe(24)
        self.campaign = load()
        self.lock = threading.Lock()  # one save or job submission at a time
        self.runs: dict[str, Job] = {}
        self.load_problems: list[str] = []  #: why the saved files do not load (the last reload's problems)
        self._queue: queue.Queue[Job | None] = queue.Queue()
        self._current: Job | None = None
        self.thread: threading.Thread | None = None  #: the worker that runs the jobs
        super().__init__(("127.0.0.1", port), _Handler)
        self.port = self.server_address[1]
        self._previous_sink = progress.set_sink(self._step)

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"{self.origin}/{self.token}/"

    def page(self) -> str:
        return review_html(self.campaign, self.transcriber, self.lang, served=True)

    # ---------------------------------------------------------------- saving

    def _saved(self, write: Callable[[Campaign], Path]) -> tuple[Path, Job]:
        """Write a file (checked by ``write``; a SpecError names its lines and nothing is written), then
        load the campaign with it in the background: the answer does not wait for the re-timing."""
        with self.lock:
            path = write(self.campaign)
            return path, self._submit(Job(secrets.token_hex(8), "reload", file=str(path)))

    def save_transcript(self, clip: str, srt: str) -> tuple[Path, Job]:
        return self._saved(lambda c: save_transcript(c, clip, srt))

    def save_script(self, lines: dict) -> tuple[Path, Job]:
        return self._saved(lambda c: save_script(c, lines))

    # ---------------------------------------------------------------- jobs

    def _submit(self, job: Job) -> Job:
        """Queue a job for the worker thread (started on first use); the caller holds ``self.lock``."""
        self.runs[job.id] = job
        self._queue.put(job)
        if self.thread is None or not self.thread.is_alive():
            self.thread = threading.Thread(target=self._work, name="rekrutt-desk-jobs", daemon=True)
            self.thread.start()
        return job

    def _work(self) -> None:
        while (job := self._queue.get()) is not None:
            job.state, job.started, self._current = "running", time.monotonic(), job
            try:
                if job.kind == "reload":
                    self._reload(job)
                else:
                    self._drafts(job)
            finally:
                job.ended, self._current = time.monotonic(), None
            log.info("review server: %s %s after %.1f s %s", job.kind, job.state, job.ended - job.started, job.error)

    def _step(self, step: progress.Step) -> None:
        """The progress sink while serving: a long stage's steps go to the running reload (and on to the
        sink the server replaced, the CLI's)."""
        job = self._current
        if job is not None and job.kind == "reload":
            job.progress[step.task] = 1.0 if step.kind == "end" else round(step.fraction, 3)
        if self._previous_sink is not None:
            self._previous_sink(step)

    def _reload(self, job: Job) -> None:
        try:
            campaign = self.load()
        except SpecError as exc:  # the saved file (or another) no longer loads: say each problem's line
            job.problems = [str(p) for p in exc.problems]
            job.error, job.state = "; ".join(job.problems), "failed"
            self.load_problems = job.problems
            return
        except (RekruttError, OSError) as exc:
            job.error, job.state = str(exc), "failed"
            self.load_problems = [job.error]
            return
        except BaseException as exc:  # an interruption: say so, then end the job
            job.error, job.state = f"stopped ({type(exc).__name__})", "failed"
            return
        self.campaign, self.load_problems, job.state = campaign, [], "done"

    def start_drafts(self, outputs: dict) -> Job:
        """Queue drafts of ``outputs`` (version -> channels); refused while drafts or a reload are waiting
        or running, and while the saved files do not load."""
        if not isinstance(outputs, dict) or not outputs or not all(
                isinstance(v, str) and isinstance(cs, list) and cs and all(isinstance(c, str) for c in cs)
                for v, cs in outputs.items()):
            raise InputError("outputs: send the version -> channels to render as drafts")
        with self.lock:
            busy = [j for j in self.runs.values() if j.active]
            if any(j.kind == "reload" for j in busy):
                raise InputError("the campaign is being loaded with the saved correction: wait until it is done")
            if any(j.kind == "drafts" for j in busy):
                raise InputError("drafts are being rendered: wait until they are done")
            if self.load_problems:
                raise InputError("the campaign does not load with the saved files: " + "; ".join(self.load_problems))
            known = {e.version or "main": e.spec.channels for e in self.campaign.editions(every=True)}
            for version, channels in outputs.items():
                unknown = [c for c in channels if c not in known.get(version, [])]
                if version not in known or unknown:
                    raise InputError(f"no output {version}/{', '.join(unknown) or '?'} in the campaign")
            return self._submit(Job(secrets.token_hex(8), "drafts", outputs,
                                    folder=str(self.campaign.out_dir / "draft")))

    def _drafts(self, run: Job) -> None:
        def event(e: Event) -> None:
            key = f"{e.campaign}/{e.channel}" if e.campaign else e.channel
            if e.kind in ("start", "progress"):
                run.progress[key] = max(run.progress.get(key, 0.0), min(1.0, e.fraction))
            elif e.kind == "done":
                run.progress[key] = 1.0

        try:
            for version, channels in run.outputs.items():
                campaign = self.load(versions=(version,), channels=tuple(channels))
                options = dataclasses.replace(self.options, versions=(version,), channels=tuple(channels),
                                              draft=True, force=False)
                result = render_batch([campaign], options, event)
                failed = {c: why for r in result.campaigns.values() for c, why in r.failures.items()}
                if failed:
                    raise RekruttError("; ".join(f"{c}: {why}" for c, why in failed.items()))
            run.state = "done"
        except (RekruttError, OSError) as exc:
            run.error, run.state = str(exc), "failed"
        except BaseException as exc:  # an interruption (Ctrl-C stops ffmpeg): say so, then end the thread
            run.error, run.state = f"stopped ({type(exc).__name__})", "failed"

    def stop(self) -> None:
        """Stop serving and the jobs (a draft render's ffmpeg children stopped, nothing partial kept; the
        jobs still waiting are not started)."""
        if self._serving:  # from another thread (a test); after Ctrl-C the loop has already ended
            self.shutdown()
        self.server_close()
        for job in list(self.runs.values()):
            if job.state == "waiting":
                job.error, job.state = "stopped (the server stopped)", "failed"
        self._queue.put(None)
        if self.thread is not None and self.thread.is_alive():
            ff.stop_all()
            self.thread.join(timeout=60)
        progress.set_sink(self._previous_sink)

    _serving = False

    def serve_forever(self, poll_interval: float = 0.5) -> None:
        self._serving = True
        try:
            super().serve_forever(poll_interval)
        finally:
            self._serving = False


def serve(server: DeskServer) -> None:
    """Serve until Ctrl-C (or SIGTERM as the CLI maps it), then stop everything cleanly."""
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()


_SAFE_PART = re.compile(r"^[^/\\\x00]+$")


class _Handler(BaseHTTPRequestHandler):
    server: DeskServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args) -> None:  # the library logs, it does not print
        log.debug("review server: " + format, *args)

    # ---------------------------------------------------------------- answers

    def _send(self, status: int, body: bytes, kind: str, extra: dict | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Referrer-Policy", "no-referrer")
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, status: int, data: dict) -> None:
        self._send(status, json.dumps(data, ensure_ascii=False).encode("utf-8"), "application/json; charset=utf-8")

    def _refuse(self, status: int, why: str) -> None:
        log.info("review server refused %s %s: %s", self.command, self.path.split("?")[0][:80], why)
        self._json(status, {"error": why})

    def _allowed(self) -> str | None:
        """The path after the token, or None when the request is refused (answered here)."""
        host = self.headers.get("Host", "")
        if host not in (f"127.0.0.1:{self.server.port}", f"localhost:{self.server.port}"):
            self._refuse(HTTPStatus.FORBIDDEN, "wrong Host: open the address review --serve printed")
            return None
        origin = self.headers.get("Origin")
        if origin is not None and origin != self.server.origin:
            self._refuse(HTTPStatus.FORBIDDEN, "requests from another origin are refused")
            return None
        if self.headers.get("Sec-Fetch-Site") not in (None, "same-origin", "none"):
            self._refuse(HTTPStatus.FORBIDDEN, "requests from another site are refused")
            return None
        path = urlsplit(self.path).path
        head, _, rest = path.lstrip("/").partition("/")
        if not hmac.compare_digest(head.encode(), self.server.token.encode()):
            self._refuse(HTTPStatus.FORBIDDEN, "wrong or missing token: open the address review --serve printed")
            return None
        return unquote(rest)

    # ---------------------------------------------------------------- GET

    def do_HEAD(self) -> None:
        self.do_GET()

    def do_GET(self) -> None:
        rest = self._allowed()
        if rest is None:
            return
        if rest in ("", "index.html"):
            try:
                body = self.server.page().encode("utf-8")
            except RekruttError as exc:
                return self._json(HTTPStatus.INTERNAL_SERVER_ERROR, {"error": str(exc)})
            return self._send(HTTPStatus.OK, body, "text/html; charset=utf-8")
        if rest.startswith("api/jobs/"):
            run = self.server.runs.get(rest.removeprefix("api/jobs/"))
            if run is None:
                return self._refuse(HTTPStatus.NOT_FOUND, "no such job")
            return self._json(HTTPStatus.OK, run.as_json())
        self._file(rest)

    def _file(self, rest: str) -> None:
        root = self.server.campaign.out_dir.resolve()
        parts = rest.split("/")
        if not all(_SAFE_PART.match(p) and p not in (".", "..") and not p.startswith(".") for p in parts):
            return self._refuse(HTTPStatus.FORBIDDEN, "not a file of the campaign's output folder")
        path = (root / rest).resolve()
        if not path.is_relative_to(root) or not path.is_file():
            return self._refuse(HTTPStatus.NOT_FOUND if path.is_relative_to(root) else HTTPStatus.FORBIDDEN,
                                "not a file of the campaign's output folder")
        kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        size = path.stat().st_size
        start, end = 0, size - 1
        m = re.fullmatch(r"bytes=(\d*)-(\d*)", self.headers.get("Range", ""))
        status = HTTPStatus.OK
        if m and (m[1] or m[2]):  # a browser seeks in a video by ranges
            if m[1]:
                start, end = int(m[1]), min(int(m[2]) if m[2] else size - 1, size - 1)
            else:
                start = max(0, size - int(m[2]))
            if start > end:
                return self._send(HTTPStatus.REQUESTED_RANGE_NOT_SATISFIABLE, b"", "text/plain",
                                  {"Content-Range": f"bytes */{size}"})
            status = HTTPStatus.PARTIAL_CONTENT
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(end - start + 1))
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        if status == HTTPStatus.PARTIAL_CONTENT:
            self.send_header("Content-Range", f"bytes {start}-{end}/{size}")
        self.end_headers()
        if self.command == "HEAD":
            return
        with path.open("rb") as f:
            f.seek(start)
            left = end - start + 1
            try:
                while left > 0:
                    chunk = f.read(min(left, 1 << 16))
                    if not chunk:
                        break
                    self.wfile.write(chunk)
                    left -= len(chunk)
            except (BrokenPipeError, ConnectionResetError):  # the browser stopped reading (a seek)
                pass

    # ---------------------------------------------------------------- POST

    def do_POST(self) -> None:
        rest = self._allowed()
        if rest is None:
            return
        if self.headers.get("Content-Type", "").split(";")[0].strip() != "application/json":
            return self._refuse(HTTPStatus.UNSUPPORTED_MEDIA_TYPE, "send JSON (Content-Type: application/json)")
        try:
            length = int(self.headers.get("Content-Length", ""))
        except ValueError:
            return self._refuse(HTTPStatus.LENGTH_REQUIRED, "send a Content-Length")
        if length > MAX_POST or length < 0:
            return self._refuse(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "too large")
        try:
            body = json.loads(self.rfile.read(length).decode("utf-8"))
            if not isinstance(body, dict):
                raise ValueError("not an object")
        except ValueError as exc:
            return self._refuse(HTTPStatus.BAD_REQUEST, f"not JSON ({exc})")
        try:
            if rest == "api/transcript":
                clip, srt = body.get("clip"), body.get("srt")
                if not isinstance(clip, str) or not isinstance(srt, str):
                    raise InputError("send the clip and its SRT text")
                path, job = self.server.save_transcript(clip, srt)
            elif rest == "api/script":
                path, job = self.server.save_script(body.get("lines"))
            elif rest == "api/drafts":
                return self._json(HTTPStatus.ACCEPTED, self.server.start_drafts(body.get("outputs")).as_json())
            else:
                return self._refuse(HTTPStatus.NOT_FOUND, "no such action")
        except SpecError as exc:  # refused with the file's line of each problem
            return self._json(HTTPStatus.BAD_REQUEST, {"error": "; ".join(str(p) for p in exc.problems),
                                                       "problems": [str(p) for p in exc.problems]})
        except InputError as exc:
            return self._json(HTTPStatus.BAD_REQUEST, {"error": str(exc)})
        self._json(HTTPStatus.OK, {"file": str(path), "job": job.as_json()})
