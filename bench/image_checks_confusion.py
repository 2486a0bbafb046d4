"""The image checks on a labelled set of generated street scenes, as a confusion table.

Each seed draws a scene (sky gradient, buildings with windows, road with markings, poles, cars,
trees, a fixed texture) on a canvas larger than the view, so "the camera was turned" is a
different crop or a rotation of the same world. Every frame gets fresh sensor noise, a small
brightness change, an OSD clock and JPEG encoding, like a camera's snapshot. Per class:

    normal   same view, new noise and brightness        previous and reference: same view
    blank    near-black frame with the OSD clock (dead sensor), or a uniform "no video" screen
    frozen   the previous snapshot served again, byte for byte
    blurred  the scene through a Gaussian blur (defocus) before noise and OSD
    covered  a dark or dull occluder over 75-92 % of the frame
    moved    the view shifted by a quarter to a third of its width, or rotated 15-30 degrees

    python bench/image_checks_confusion.py [--per-class 24] [--first-seed 1000]   # writes docs/IMAGE_CHECKS.md
"""

from __future__ import annotations

import argparse
import io
from collections.abc import Iterator
from dataclasses import dataclass
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


def confusion(per_class: int = 24, first_seed: int = 0) -> dict[str, dict[str, int]]:
    """table[true label][verdict] -> count, with the default thresholds."""
    thresholds = ImageThresholds()
    table = {label: dict.fromkeys(CLASSES, 0) for label in CLASSES}
    for sample in labelled_set(per_class, first_seed):
        table[sample.label][assess(sample.jpeg, sample.previous, sample.reference, thresholds).verdict] += 1
    return table


def accuracy(table: dict[str, dict[str, int]], label: str) -> float:
    return table[label][label] / sum(table[label].values())


def markdown(table: dict[str, dict[str, int]]) -> str:
    lines = ["| true \\ verdict | " + " | ".join(CLASSES) + " | accuracy |",
             "|---|" + "---:|" * (len(CLASSES) + 1)]
    for label in CLASSES:
        counts = " | ".join(str(table[label][verdict]) for verdict in CLASSES)
        lines.append(f"| {label} | {counts} | {accuracy(table, label):.2f} |")
    return "\n".join(lines) + "\n"


def write_doc(table: dict[str, dict[str, int]], per_class: int, first_seed: int) -> None:
    DOC.parent.mkdir(exist_ok=True)
    DOC.write_text(
        "# Image checks on generated snapshots\n\n"
        "How `fleetmon.probes.image_quality.assess` (default `ImageThresholds`) sorts a labelled set of generated\n"
        f"{WIDTH}x{HEIGHT} street-scene snapshots, {per_class} per class, each from its own seed (seeds\n"
        f"{first_seed}-{first_seed + per_class - 1}; the thresholds were tuned on seeds 0-23). The verdict is\n"
        "the first failing check (blank, frozen, covered, blurred, moved), \"normal\" when none fails.\n"
        "How the set is made, and why each check measures what it does, is in the docstrings of\n"
        "`bench/image_checks_confusion.py` and `fleetmon/probes/image_quality.py`.\n\n"
        f"    python bench/image_checks_confusion.py --per-class {per_class} --first-seed {first_seed}\n\n"
        + markdown(table),
        encoding="utf-8",
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-class", type=int, default=24)
    parser.add_argument("--first-seed", type=int, default=1000, help="seeds 0-23 tuned the thresholds")
    args = parser.parse_args()
    table = confusion(args.per_class, args.first_seed)
    print(markdown(table))
    write_doc(table, args.per_class, args.first_seed)
    print(f"written to {DOC}")


if __name__ == "__main__":
    main()
