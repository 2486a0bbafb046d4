"""Image checks on generated street scenes: the labelled set's confusion table, and what each check says."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image, ImageFilter

from bench.image_checks_confusion import CLASSES, Sample, accuracy, confusion, draw_world, labelled_set, markdown, snapshot, view
from fleetmon.probes.image_quality import ImageDecodeError, ImageThresholds, assess, fingerprint

HELD_OUT_SEED = 1000  # the thresholds were tuned on seeds 0-23


def test_labelled_set_is_sorted_right_per_class() -> None:
    table = confusion(per_class=20, first_seed=HELD_OUT_SEED)
    print("\n" + markdown(table))
    for label in CLASSES:
        assert accuracy(table, label) >= 0.9, (label, table[label])
    assert accuracy(table, "normal") >= 0.95
    missed = sum(table[label]["normal"] for label in CLASSES if label != "normal")
    assert missed <= 2, "faults passed as normal"


@pytest.fixture(scope="module")
def samples() -> dict[str, Sample]:
    return {sample.label: sample for sample in labelled_set(1, first_seed=7)}


@pytest.mark.parametrize(("label", "words"), [
    ("normal", "scene in place: match with the reference 1.00"),
    ("blank", "frame"),
    ("frozen", "frozen: snapshot identical to the previous one, byte for byte"),
    ("blurred", "blurred: sharpness"),
    ("covered", "lens covered:"),
    ("moved", "scene moved: match with the reference"),
])
def test_each_finding_is_explained_in_words(samples: dict[str, Sample], label: str, words: str) -> None:
    sample = samples[label]
    result = assess(sample.jpeg, sample.previous, sample.reference, ImageThresholds())
    assert result.verdict == label
    assert words in result.explain()
    if label != "normal":
        assert words in result.findings[0].text


def test_blur_text_names_the_figure_and_the_limit(samples: dict[str, Sample]) -> None:
    sample = samples["blurred"]
    text = assess(sample.jpeg, sample.previous, sample.reference, ImageThresholds()).findings[0].text
    figure, limit = text.removeprefix("blurred: sharpness ").split(" < ")
    assert float(figure) < float(limit) == 15


def test_thresholds_are_configurable(samples: dict[str, Sample]) -> None:
    sample = samples["blurred"]
    lenient = ImageThresholds(sharpness=1.0)
    assert assess(sample.jpeg, sample.previous, sample.reference, lenient).verdict == "normal"


def test_black_frame_is_not_also_reported_blurred_or_moved(samples: dict[str, Sample]) -> None:
    sample = samples["blank"]
    result = assess(sample.jpeg, sample.previous, sample.reference, ImageThresholds())
    assert [o.check for o in result.findings] == ["blank"]
    assert [o.check for o in result.outcomes] == ["blank"]


def test_same_pixels_reencoded_are_frozen_by_sensor_noise(samples: dict[str, Sample]) -> None:
    """A stuck encoder re-sending its last picture with new headers: bytes differ, noise does not."""
    sample = samples["normal"]
    out = io.BytesIO()
    with Image.open(io.BytesIO(sample.jpeg)) as image:
        image.save(out, "JPEG", quality="keep", comment=b"re-sent")
    assert out.getvalue() != sample.jpeg
    result = assess(out.getvalue(), fingerprint(sample.jpeg), sample.reference, ImageThresholds())
    assert result.verdict == "frozen"
    assert "sensor noise unchanged" in result.findings[0].text


def test_checks_without_history_say_they_were_not_run(samples: dict[str, Sample]) -> None:
    result = assess(samples["normal"].jpeg, None, None, ImageThresholds())
    assert result.verdict == "normal"
    assert "frozen: not checked, no previous snapshot" in result.explain()
    assert "moved: not checked, no reference frame" in result.explain()


def test_resolution_does_not_change_the_verdict() -> None:
    """The same scene at 4x the pixels: sharp stays sharp, blurred stays blurred."""
    rng = np.random.default_rng(3)
    scene = view(draw_world(rng))
    large = scene.resize((scene.width * 2, scene.height * 2), Image.Resampling.LANCZOS)
    for picture, expected in ((large, "normal"), (large.filter(ImageFilter.GaussianBlur(8)), "blurred")):
        assert assess(snapshot(picture, rng, 5), None, None, ImageThresholds()).verdict == expected


def test_fingerprint_fits_in_two_kilobytes(samples: dict[str, Sample]) -> None:
    print_ = fingerprint(samples["normal"].jpeg)
    assert len(print_.digest) + len(print_.thumb) + len(print_.patches) <= 2048


@pytest.mark.parametrize("data", [b"", b"\xff\xd8\xff\xe0garbage", b"<html>not an image</html>"])
def test_undecodable_snapshot_raises_decode_error(data: bytes) -> None:
    with pytest.raises(ImageDecodeError, match="not a decodable image"):
        assess(data, None, None, ImageThresholds())


def test_truncated_snapshot_raises_decode_error(samples: dict[str, Sample]) -> None:
    jpeg = samples["normal"].jpeg
    with pytest.raises(ImageDecodeError, match="not a decodable image"):
        assess(jpeg[:len(jpeg) // 2], None, None, ImageThresholds())


def test_decompression_bomb_is_refused_before_decoding() -> None:
    """6 KB of PNG that would decode to 48 million pixels."""
    bomb = io.BytesIO()
    Image.new("1", (8000, 6000)).save(bomb, "PNG")
    with pytest.raises(ImageDecodeError, match="8000x6000 pixels is too large"):
        assess(bomb.getvalue(), None, None, ImageThresholds())
