"""The editorial loop on a real interview (issue 21): quotes anchored to words, cuts in real pauses,
cut-downs of whole sentences.

Real Norwegian speech (90 s of erna.mp3) under a real face (scikit-image's astronaut, moved slowly),
real forced alignment and the real level envelope. What Whisper hears in the excerpt is pinned
(tests/fixtures/erna-excerpt-transcript.json, Whisper base's words on it), so the quotes and the
corrections do not hang on one CPU's Whisper; cut points are checked against the sound itself.
"""

from __future__ import annotations

from pathlib import Path

from tests.conftest import ff

#: The excerpt: erna.mp3 from 44 s, 90 s long (the children's press conference: sleep and blueberries,
#: the national day, friends).
EXCERPT_START, EXCERPT_LENGTH = 44, 90


def make_excerpt(erna: Path, target: Path) -> Path:
    """90 s of erna's sound under the astronaut's face, looped and panned slowly, 320x180 at 25 fps."""
    import numpy as np
    from PIL import Image
    from skimage import data

    face = target.with_suffix(".png")
    Image.fromarray(np.asarray(data.astronaut())).save(face)
    pan = ("scale=640:640,crop=512:288:x='64+60*sin(2*PI*t/30)':y='120+100*sin(2*PI*t/45)',"
           "scale=320:180,setsar=1,format=yuv420p")
    tmp = target.with_suffix(".part.mp4")
    ff("-loop", "1", "-framerate", "25", "-i", str(face), "-ss", str(EXCERPT_START), "-t", str(EXCERPT_LENGTH),
       "-i", str(erna), "-map", "0:v", "-map", "1:a", "-vf", pan, "-c:v", "libx264", "-preset", "ultrafast",
       "-g", "25", "-threads", "1", "-c:a", "aac", "-ac", "1", "-t", str(EXCERPT_LENGTH), str(tmp))
    tmp.replace(target)
    return target
