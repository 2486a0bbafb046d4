"""The image checks on labelled snapshots, as confusion tables: generated street scenes, and scenes
nobody here drew (ffmpeg's test sources).

Our scenes: each seed draws a scene (sky gradient, buildings with windows, road with markings,
poles, cars, trees, a fixed texture) on a canvas larger than the view, so "the camera was turned"
is a different crop or a rotation of the same world. Every frame gets fresh sensor noise, a small
brightness change, an OSD clock and JPEG encoding, like a camera's snapshot. Per class:

    normal   same view, new noise and brightness        previous and reference: same view
    blank    near-black frame with the OSD clock (dead sensor), or a uniform "no video" screen
    frozen   the previous snapshot served again, byte for byte
    blurred  the scene through a Gaussian blur (defocus) before noise and OSD
    covered  a dark or dull occluder over 75-92 % of the frame
    moved    the view shifted by a quarter to a third of its width, or rotated 15-30 degrees

Third-party scenes (`--thirdparty`, needs ffmpeg): ffmpeg draws `testsrc2` (moving parts, its own
clock), "street" (a smooth sky over testsrc2 ground, a dark block driving across) and "wall"
(a smooth sky and the block only), with low temporal noise, frames 20 s of scene apart. The reference is
the scene's first frame, the previous snapshot the frame before; the OSD clock is drawn on every
snapshot. Classes as above, except: normal is a later frame (its moving parts elsewhere), frozen
is the previous frame's pixels with the clock moved on (a stuck sensor behind a running OSD).

    python bench/image_checks_confusion.py [--per-class 24] [--first-seed 1000] [--thirdparty]   # writes docs/IMAGE_CHECKS.md
"""

from __future__ import annotations

import argparse
import io
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from fleetmon.probes.image_quality import ImageFingerprint, ImageThresholds, assess, fingerprint

CLASSES = ("normal", "blank", "frozen", "blurred", "covered", "moved")
WIDTH, HEIGHT = 480, 270
CANVAS = (WIDTH * 3 // 2, HEIGHT * 3 // 2)
DOC = Path(__file__).resolve().parents[1] / "docs" / "IMAGE_CHECKS.md"


@dataclass(frozen=True, slots=True)
class Sample:
    label: str
    jpeg: bytes
    previous: ImageFingerprint
    reference: ImageFingerprint


def draw_world(rng: np.random.Generator) -> Image.Image:
    """A street scene on the whole canvas, noise-free; the views are crops of it."""
    width, height = CANVAS
    horizon = int(height * rng.uniform(0.35, 0.45))
    sky_top, sky_bottom = rng.uniform(90, 160, 3), rng.uniform(170, 230, 3)
    rows = np.linspace(0, 1, horizon)[:, None]
    pixels = np.zeros((height, width, 3), dtype=np.float32)
    pixels[:horizon] = (sky_top + (sky_bottom - sky_top) * rows)[:, None, :]
    pixels[horizon:] = rng.uniform(60, 110, 3)
    world = Image.fromarray(pixels.astype(np.uint8))
    draw = ImageDraw.Draw(world)
    x = int(rng.integers(-40, 0))
    while x < width:
        wide, tall = int(rng.integers(60, 160)), int(rng.integers(60, horizon - 10))
        colour = tuple(int(c) for c in rng.integers(70, 200, 3))
        draw.rectangle((x, horizon - tall, x + wide, horizon), fill=colour)
        for wy in range(horizon - tall + 8, horizon - 14, 18):
            for wx in range(x + 6, x + wide - 10, 16):
                shade = int(rng.integers(20, 240))
                draw.rectangle((wx, wy, wx + 7, wy + 9), fill=(shade, shade, int(shade * 0.8)))
        x += wide + int(rng.integers(0, 30))
    road_left, road_right = rng.uniform(0.05, 0.35) * width, rng.uniform(0.65, 0.95) * width
    centre = width * rng.uniform(0.4, 0.6)
    draw.polygon([(road_left, height), (road_right, height), (centre + 30, horizon), (centre - 30, horizon)],
                 fill=tuple(int(c) for c in rng.integers(40, 80, 3)))
    for step in range(1, 12):
        y = horizon + (height - horizon) * step / 12
        draw.line([(centre, y), (centre, y + 8 + step * 2)], fill=(235, 235, 220), width=1 + step // 3)
    for _ in range(int(rng.integers(4, 9))):
        px = int(rng.integers(0, width))
        draw.line([(px, horizon - int(rng.integers(80, 200))), (px, horizon + 40)], fill=(50, 50, 55), width=4)
    for _ in range(int(rng.integers(3, 8))):
        cx, cy = int(rng.integers(0, width)), int(rng.integers(horizon + 20, height - 20))
        body = tuple(int(c) for c in rng.integers(0, 255, 3))
        draw.rectangle((cx, cy, cx + 70, cy + 28), fill=body, outline=(10, 10, 10))
        draw.ellipse((cx + 8, cy + 20, cx + 24, cy + 36), fill=(15, 15, 15))
        draw.ellipse((cx + 46, cy + 20, cx + 62, cy + 36), fill=(15, 15, 15))
    for _ in range(int(rng.integers(3, 7))):
        tx, ty, r = int(rng.integers(0, width)), int(rng.integers(horizon - 60, horizon + 30)), int(rng.integers(25, 55))
        draw.ellipse((tx - r, ty - r, tx + r, ty + r), fill=(int(rng.integers(20, 70)), int(rng.integers(80, 140)), 40))
    texture = rng.standard_normal((height, width, 1), dtype=np.float32) * np.float32(7)
    return Image.fromarray(np.clip(np.asarray(world, dtype=np.float32) + texture, 0, 255).astype(np.uint8))


def view(world: Image.Image, dx: int = 0, dy: int = 0, angle: float = 0.0) -> Image.Image:
    if angle:
        world = world.rotate(angle, resample=Image.Resampling.BILINEAR)
    left, top = (CANVAS[0] - WIDTH) // 2 + dx, (CANVAS[1] - HEIGHT) // 2 + dy
    return world.crop((left, top, left + WIDTH, top + HEIGHT))


def snapshot(scene: Image.Image, rng: np.random.Generator, second: int) -> bytes:
    """What the camera would send: brightness drift, sensor noise, OSD clock, JPEG."""
    pixels = np.asarray(scene, dtype=np.float32) * np.float32(rng.uniform(0.92, 1.08))
    pixels += rng.standard_normal((scene.height, scene.width, 1), dtype=np.float32) * np.float32(rng.uniform(2.0, 4.0))
    frame = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))
    ImageDraw.Draw(frame).text((10, 8), f"2026-11-05 08:{second // 60 % 60:02d}:{second % 60:02d}  CAM-{second % 97:02d}",
                               fill=(255, 255, 255))
    out = io.BytesIO()
    frame.save(out, "JPEG", quality=int(rng.integers(75, 92)))
    return out.getvalue()


def _blank_scene(rng: np.random.Generator) -> Image.Image:
    if rng.random() < 0.7:
        level = rng.uniform(0, 12, 3)
    else:  # a "no video" screen: uniform blue or grey
        level = np.array([20, 40, 160]) if rng.random() < 0.5 else rng.uniform(60, 200, 1).repeat(3)
    return Image.fromarray(np.broadcast_to(level, (HEIGHT, WIDTH, 3)).astype(np.uint8))


def _covered_scene(scene: Image.Image, rng: np.random.Generator) -> Image.Image:
    """An occluder hanging in from one side over 75-92 % of the frame, its edge soft (out of focus)."""
    share = rng.uniform(0.75, 0.92)
    mask = Image.new("L", (WIDTH, HEIGHT), 0)
    side = int(rng.integers(4))
    box = [(0, 0, WIDTH * share, HEIGHT), (WIDTH * (1 - share), 0, WIDTH, HEIGHT),
           (0, 0, WIDTH, HEIGHT * share), (0, HEIGHT * (1 - share), WIDTH, HEIGHT)][side]
    ImageDraw.Draw(mask).rectangle(box, fill=255)
    mask = mask.filter(ImageFilter.GaussianBlur(8))
    colour = tuple(int(c) for c in rng.uniform(30, 100, 3))
    return Image.composite(Image.new("RGB", (WIDTH, HEIGHT), colour), scene, mask)


def _moved_scene(world: Image.Image, rng: np.random.Generator) -> Image.Image:
    sign = 1 if rng.random() < 0.5 else -1
    if rng.random() < 0.5:
        return view(world, dx=sign * int(WIDTH * rng.uniform(0.25, 0.33)), dy=int(rng.integers(-40, 40)))
    return view(world, angle=sign * rng.uniform(15, 30))


def labelled_set(per_class: int = 24, first_seed: int = 0) -> Iterator[Sample]:
    """`per_class` samples of every class, each from its own seed."""
    for index in range(first_seed, first_seed + per_class):
        for label in CLASSES:
            rng = np.random.default_rng([index, CLASSES.index(label)])
            world = draw_world(rng)
            base = view(world)
            reference = fingerprint(snapshot(base, rng, 1))
            previous_jpeg = snapshot(base, rng, 2)
            if label == "normal":
                jpeg = snapshot(base, rng, 3)
            elif label == "blank":
                jpeg = snapshot(_blank_scene(rng), rng, 3)
            elif label == "frozen":
                jpeg = previous_jpeg
            elif label == "blurred":
                jpeg = snapshot(base.filter(ImageFilter.GaussianBlur(rng.uniform(2.5, 5.0))), rng, 3)
            elif label == "covered":
                jpeg = snapshot(_covered_scene(base, rng), rng, 3)
            else:
                jpeg = snapshot(_moved_scene(world, rng), rng, 3)
            yield Sample(label, jpeg, fingerprint(previous_jpeg), reference)


def confusion(per_class: int = 24, first_seed: int = 0, samples: Iterator[Sample] | None = None) -> dict[str, dict[str, int]]:
    """table[true label][verdict] -> count, with the default thresholds."""
    thresholds = ImageThresholds()
    table = {label: dict.fromkeys(CLASSES, 0) for label in CLASSES}
    for sample in samples if samples is not None else labelled_set(per_class, first_seed):
        table[sample.label][assess(sample.jpeg, sample.previous, sample.reference, thresholds).verdict] += 1
    return table


THIRDPARTY_SCENES = ("testsrc2", "street", "wall")


def scene_filter(name: str, width: int, height: int, rate: Fraction, noise: int) -> str:
    """An ffmpeg lavfi graph for a third-party scene; frames `1 / rate` scene seconds apart."""
    fps = f"{rate.numerator}/{rate.denominator}"
    if name == "testsrc2":
        graph = f"testsrc2=size={width}x{height}:rate={fps}"
    else:  # "street": a smooth sky over busy ground, a dark block driving across; "wall": sky and block only
        sky = height * 6 // 10 if name == "street" else height
        block_w, block_h = width // 7, height // 9
        graph = (f"color=c=black:s={width}x{sky}:rate={fps},format=rgb24,"  # a sky: blue above, pale at the horizon
                 "geq=r='74+110*Y/H':g='111+85*Y/H':b='165+43*Y/H'")
        if sky < height:
            graph += f"[sky];testsrc2=s={width}x{height - sky}:rate={fps}[ground];[sky][ground]vstack"
        graph += (f"[view];color=c=0x303030:s={block_w}x{block_h}:rate={fps}[block];"
                  f"[view][block]overlay=x=mod(t*7\\,W+w)-w:y={min(sky, height * 2 // 3) - block_h}:eval=frame:shortest=1")
    if noise:
        graph += f",noise=alls={noise}:allf=t"
    return graph + "[out0]"


def ffmpeg_frames(scene: str, count: int, seconds_apart: float = 20.0) -> list[Image.Image]:
    """`count` frames of a third-party scene on the whole canvas (the views are crops of it)."""
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        raise SystemExit("the third-party scenes need ffmpeg (scripts/setup.sh installs it)")
    width, height = CANVAS[0] + CANVAS[0] % 2, CANVAS[1] + CANVAS[1] % 2  # ffmpeg's sources want even sizes
    graph = scene_filter(scene, width, height, Fraction(1) / Fraction(seconds_apart).limit_denominator(1000), noise=1)
    raw = subprocess.run([ffmpeg, "-nostdin", "-loglevel", "error", "-f", "lavfi", "-i", graph, "-frames:v", str(count),
                          "-f", "rawvideo", "-pix_fmt", "rgb24", "pipe:1"], capture_output=True, check=True).stdout
    size = width * height * 3
    return [Image.frombytes("RGB", (width, height), raw[i * size:(i + 1) * size]).crop((0, 0, *CANVAS)) for i in range(count)]


def quiet_snapshot(scene: Image.Image, second: int) -> bytes:
    """A low-noise camera's snapshot: the scene as it is, the OSD clock, JPEG at quality 90."""
    frame = scene.copy()
    ImageDraw.Draw(frame).text((10, 8), f"2026-11-05 08:{second // 60 % 60:02d}:{second % 60:02d}", fill=(255, 255, 255))
    out = io.BytesIO()
    frame.save(out, "JPEG", quality=90)
    return out.getvalue()


def thirdparty_set(scene: str, per_class: int = 24) -> Iterator[Sample]:
    """`per_class` samples of every class from one ffmpeg scene, 20 s of scene between frames."""
    frames = ffmpeg_frames(scene, 2 * per_class + 2)
    reference = fingerprint(quiet_snapshot(view(frames[0]), 0))
    for index in range(per_class):
        rng = np.random.default_rng([index, 77])
        before, now = frames[2 * index + 1], frames[2 * index + 2]
        second = 40 * index + 20
        previous = fingerprint(quiet_snapshot(view(before), second))
        for label in CLASSES:
            if label == "normal":
                jpeg = quiet_snapshot(view(now), second + 20)
            elif label == "blank":
                jpeg = quiet_snapshot(_blank_scene(rng), second + 20)
            elif label == "frozen":
                jpeg = quiet_snapshot(view(before), second + 20)
            elif label == "blurred":
                jpeg = quiet_snapshot(view(now).filter(ImageFilter.GaussianBlur(rng.uniform(2.5, 5.0))), second + 20)
            elif label == "covered":
                jpeg = quiet_snapshot(_covered_scene(view(now), rng), second + 20)
            else:
                jpeg = quiet_snapshot(_moved_scene(now, rng), second + 20)
            yield Sample(label, jpeg, previous, reference)


def accuracy(table: dict[str, dict[str, int]], label: str) -> float:
    return table[label][label] / sum(table[label].values())


def markdown(table: dict[str, dict[str, int]]) -> str:
    lines = ["| true \\ verdict | " + " | ".join(CLASSES) + " | accuracy |",
             "|---|" + "---:|" * (len(CLASSES) + 1)]
    for label in CLASSES:
        counts = " | ".join(str(table[label][verdict]) for verdict in CLASSES)
        lines.append(f"| {label} | {counts} | {accuracy(table, label):.2f} |")
    return "\n".join(lines) + "\n"


def write_doc(table: dict[str, dict[str, int]], per_class: int, first_seed: int,
              thirdparty: dict[str, dict[str, dict[str, int]]] | None = None) -> None:
    DOC.parent.mkdir(exist_ok=True)
    text = (
        "# Image checks on labelled snapshots\n\n"
        "How `fleetmon.probes.image_quality.assess` (default `ImageThresholds`) sorts labelled snapshots. The verdict\n"
        "is the first failing check (blank, frozen, covered, blurred, moved), \"normal\" when none fails. How the\n"
        "sets are made, and why each check measures what it does, is in the docstrings of\n"
        "`bench/image_checks_confusion.py` and `fleetmon/probes/image_quality.py`.\n\n"
        f"    python bench/image_checks_confusion.py --per-class {per_class} --first-seed {first_seed}"
        f"{' --thirdparty' if thirdparty else ''}\n\n"
        "## Generated street scenes\n\n"
        f"{WIDTH}x{HEIGHT} snapshots of our own generated street scenes, {per_class} per class, each from its own seed\n"
        f"(seeds {first_seed}-{first_seed + per_class - 1}; the thresholds were tuned on seeds 0-23), noisy (2-4 grey levels).\n"
        "Not all of it held out: the moved check's threshold and the baseline rules were chosen\n"
        "looking at seeds 1000-1023 and at the third-party scenes below as well.\n\n"
        + markdown(table)
    )
    for scene, scene_table in (thirdparty or {}).items():
        text += (f"\n## Third-party scene: ffmpeg `{scene}`\n\n"
                 f"{per_class} per class, low noise, 20 s of scene between snapshots (see the bench's docstring).\n\n"
                 + markdown(scene_table))
    if thirdparty:
        text += (
            "\nWhat the third-party tables show. On `street` and `testsrc2` nothing normal is flagged and every\n"
            "fault is found, though on `testsrc2` half the covered lenses read as blurred (found, under another\n"
            "name) and a few turns of its periodic bars still line up. `wall` (plain sky and one block driving\n"
            "across) shows the limits of judging a view with nothing in it: when the block is out of view, two\n"
            "snapshots of a still, noise-free sky are the same picture, overlay aside, and read as frozen; a\n"
            "defocused, covered or turned view of plain sky looks as it did (focus and position are \"not\n"
            "judged\" on a view that never showed fine detail or fixed edges, and a covering as featureless as\n"
            "the sky changes nothing the checks can see).\n\n"
            "The same scenes served by a third-party ONVIF camera (ipycam) are checked by\n"
            "`tests/thirdparty/test_picture_checks.py`: 30 minutes of each scene, snapshotted as `fleetmon run`\n"
            "does, raise no fault on any snapshot judged against the camera's baseline, and a stuck sensor behind\n"
            "a running clock, a defocused lens and a covered lens on it are found. Without a baseline (a first\n"
            "snapshot, `fleetmon probe`) the fixed thresholds decide: a first snapshot of plain sky reads as a\n"
            "covered or defocused lens.\n")
    DOC.write_text(text, encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-class", type=int, default=24)
    parser.add_argument("--first-seed", type=int, default=1000, help="seeds 0-23 tuned the thresholds")
    parser.add_argument("--thirdparty", action="store_true", help="also ffmpeg's scenes (needs ffmpeg)")
    args = parser.parse_args()
    table = confusion(args.per_class, args.first_seed)
    print(markdown(table))
    thirdparty = {}
    if args.thirdparty:
        for scene in THIRDPARTY_SCENES:
            thirdparty[scene] = confusion(samples=thirdparty_set(scene, args.per_class))
            print(f"ffmpeg {scene}\n{markdown(thirdparty[scene])}")
    write_doc(table, args.per_class, args.first_seed, thirdparty)
    print(f"written to {DOC}")


if __name__ == "__main__":
    main()
