"""Make the example campaign's sample clips and logo (committed under assets/).

Needs espeak-ng (apt-get install espeak-ng) for the Norwegian speech; the picture
is ffmpeg's ``gradients`` source with the speaker's name box, so the files stay
small. The clips differ on purpose (frame rate, size, orientation, audio layout),
so the example exercises the pipeline's normalisation:

- anne:  960x540, 25 fps, stereo 44.1 kHz
- jonas: 960x540 stored sideways, shown upright (540x960) through rotation metadata (a phone held
         upright), 30 fps, mono 48 kHz
- sara:  960x540, 25 fps, mono 22.05 kHz

jonas is also recorded "on a road site": ventilation-like pink noise about 13 dB under his
speech and a 50 Hz mains hum, so the example shows the sound clean-up (``audio:``) at work.
``python tools/make_sample_clips.py --noise-only`` adds that noise to the committed jonas.mp4
(the picture is copied), without espeak-ng.

Run: python tools/make_sample_clips.py
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pipeline.ffmpeg import ffmpeg_exe  # noqa: E402

CLIPS = {
    "anne": dict(
        text="Jeg heter Anne, og jeg er sykepleier på Tunet sykehjem. "
        "Hver dag gjør jeg en forskjell for noen. Det er det beste med jobben.",
        colors=("0x1d4e89", "0x7fb7be"), size="960x540", rate=25, ar=44100, ac=2, rotate=None,
    ),
    "jonas": dict(
        text="Jeg er ingeniør i kommunen. Vi bygger skoler, vann og veier. "
        "Det jeg lager, bruker naboene mine hver eneste dag.",
        colors=("0x2d6a4f", "0xd8f3dc"), size="540x960", rate=30, ar=48000, ac=1, rotate=90, noisy=True,
    ),
    "sara": dict(
        text="Jeg er barnehagelærer. Barna lærer meg noe nytt hver dag. "
        "Kom og bli med oss, vi trenger flere som deg.",
        colors=("0x9d0208", "0xffba08"), size="960x540", rate=25, ar=22050, ac=1, rotate=None,
    ),
}


def make_clip(name: str, spec: dict, out_dir: Path) -> Path:
    ff = ffmpeg_exe()
    with tempfile.TemporaryDirectory() as tmp:
        wav = Path(tmp) / "speech.wav"
        subprocess.run(["espeak-ng", "-v", "nb", "-s", "150", "-w", str(wav), spec["text"]], check=True)
        c0, c1 = spec["colors"]
        picture = f"gradients=s={spec['size']}:r={spec['rate']}:c0={c0}:c1={c1}:speed=0.02:type=linear"
        plain = Path(tmp) / "plain.mp4"
        # 0.6 s of room tone before and after the speech, like a real interview cut
        layout = "stereo|c0=c0|c1=c0" if spec["ac"] == 2 else "mono|c0=c0"
        audio = f"adelay=600|600,apad=pad_dur=0.6,aresample={spec['ar']},pan={layout}"
        vf = "drawbox=x=iw*0.06:y=ih*0.72:w=iw*0.4:h=ih*0.12:color=white@0.6:t=fill"
        if spec["rotate"]:
            vf += ",transpose=2"  # stored sideways; the rotation tag below shows it upright
        subprocess.run([
            ff, "-v", "error", "-y", "-f", "lavfi", "-i", picture, "-i", str(wav),
            "-filter_complex", f"[0:v]{vf},format=yuv420p[v];[1:a]{audio}[a]",
            "-map", "[v]", "-map", "[a]", "-shortest",
            "-c:v", "libx264", "-preset", "slow", "-crf", "32", "-g", str(spec["rate"] * 2),
            "-c:a", "aac", "-b:a", "48k", str(plain),
        ], check=True)
        out = out_dir / f"{name}.mp4"
        rotate = ["-display_rotation", str(-spec["rotate"])] if spec["rotate"] else []
        subprocess.run([ff, "-v", "error", "-y", *rotate, "-i", str(plain), "-c", "copy",
                        "-movflags", "+faststart", str(out)], check=True)
    return out


#: the road site: pink noise and mains hum (50 Hz and two harmonics) added to the speech
NOISE = ("anoisesrc=color=pink:amplitude=0.1:seed=7:r={ar}",
         "aevalsrc=0.012*sin(2*PI*50*t)+0.008*sin(2*PI*100*t)+0.006*sin(2*PI*150*t):s={ar}")


def add_noise(clip: Path, ar: int) -> None:
    """Mix the road-site noise into a clip's sound, keeping its picture and length (in place)."""
    ff = ffmpeg_exe()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / clip.name
        noise, hum = (n.format(ar=ar) for n in NOISE)
        subprocess.run([
            ff, "-v", "error", "-y", "-i", str(clip), "-f", "lavfi", "-i", noise, "-f", "lavfi", "-i", hum,
            "-filter_complex", "[0:a][1:a][2:a]amix=inputs=3:normalize=0:duration=first[a]",
            "-map", "0:v", "-map", "[a]", "-c:v", "copy", "-c:a", "aac", "-b:a", "64k",
            "-movflags", "+faststart", str(out)], check=True)
        out.replace(clip)


def make_logo(path: Path) -> None:
    from PIL import Image, ImageDraw

    img = Image.new("RGBA", (480, 160), (0, 0, 0, 0))
    d = ImageDraw.Draw(img)
    d.ellipse((8, 8, 152, 152), fill=(255, 255, 255, 255))
    d.polygon([(40, 120), (80, 40), (120, 120)], fill=(0, 59, 92, 255))
    try:
        from pipeline.cards import _font

        font = _font(54, True)
    except Exception:
        font = None
    d.text((175, 48), "Fjordvik", fill=(255, 255, 255, 255), font=font)
    img.save(path)


if __name__ == "__main__":
    clips = ROOT / "assets" / "clips"
    clips.mkdir(parents=True, exist_ok=True)
    for clip_name, clip_spec in CLIPS.items():
        if "--noise-only" not in sys.argv:
            make_clip(clip_name, clip_spec, clips)
        if clip_spec.get("noisy"):
            add_noise(clips / f"{clip_name}.mp4", clip_spec["ar"])
        print(clips / f"{clip_name}.mp4")
    if "--noise-only" in sys.argv:
        sys.exit(0)
    make_logo(ROOT / "assets" / "logo.png")
