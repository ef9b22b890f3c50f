"""Make small workplace footage for cutaways (B-roll), offline: a slow pan over a real photograph.

The photograph is one of scikit-image's bundled samples (``coffee``: a cup on a table, like a break room;
``astronaut`` has a face, for tests of reframing a cutaway), panned slowly left to right, with a quiet
room sound of its own (pink noise) so a cutaway's own sound can be heard under the voice.

Run: python tools/make_workplace_clip.py assets/clips/anne-jobb.mp4 [--image coffee] [--seconds 6]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pipeline.ffmpeg import ffmpeg_exe  # noqa: E402


def make(out: Path, image: str = "coffee", seconds: float = 6.0, size: str = "640x360", rate: int = 25,
         sound: str | None = "anoisesrc=color=pink:amplitude=0.05:sample_rate=48000") -> Path:
    """A ``size`` clip of ``seconds`` panning across scikit-image's ``image``, with ``sound`` (a lavfi audio
    source; None: no sound)."""
    import numpy as np
    import skimage.data
    from PIL import Image

    w, h = (int(v) for v in size.split("x"))
    picture = np.asarray(getattr(skimage.data, image)())
    if picture.ndim == 2:
        picture = np.stack([picture] * 3, axis=-1)
    with tempfile.TemporaryDirectory() as tmp:
        still = Path(tmp) / "still.png"
        im = Image.fromarray(picture[..., :3])
        # wide enough to pan across: the frame's height, 1.4 frame widths
        im = im.resize((int(w * 1.4), h), Image.LANCZOS) if im.width / im.height < w * 1.4 / h else \
            im.resize((int(im.width * h / im.height), h), Image.LANCZOS)
        im.save(still)
        travel = f"(iw-{w})*t/{seconds}"
        args = [ffmpeg_exe(), "-v", "error", "-y", "-loop", "1", "-framerate", str(rate), "-t", str(seconds),
                "-i", str(still)]
        if sound:
            args += ["-f", "lavfi", "-t", str(seconds), "-i", sound]
        args += ["-vf", f"crop={w}:{h}:x='{travel}':y=0,format=yuv420p", "-c:v", "libx264", "-preset", "slow",
                 "-crf", "30", "-g", str(rate * 2), "-r", str(rate)]
        if sound:
            args += ["-c:a", "aac", "-b:a", "48k", "-ac", "1", "-shortest"]
        out.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run([*args, str(out)], check=True)
    return out


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--image", default="coffee")
    parser.add_argument("--seconds", type=float, default=6.0)
    parser.add_argument("--size", default="640x360")
    a = parser.parse_args()
    print(make(a.out, a.image, a.seconds, a.size), f"{a.out.stat().st_size // 1024} KB")
