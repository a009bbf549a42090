"""Transfer arithmetic and checks: ranges, multipart parts, safe paths, digests, sizes and durations."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from ngc_registry.client.transfer_plan import (DEFAULT_PART_SIZE, RANGE_SIZE, UnsafePathError, b64_digest,
                                               check_relative_path, file_sha256, human_duration, human_size,
                                               local_path, part_count, part_range, source_relative_path,
                                               split_ranges, speed)

MiB = 1024 * 1024


@pytest.mark.parametrize("size, expected", [
    (0, []),
    (1, [(0, 1)]),
    (RANGE_SIZE, [(0, RANGE_SIZE)]),
    (RANGE_SIZE + 1, [(0, RANGE_SIZE), (RANGE_SIZE, RANGE_SIZE + 1)]),
    (3 * RANGE_SIZE, [(0, RANGE_SIZE), (RANGE_SIZE, 2 * RANGE_SIZE), (2 * RANGE_SIZE, 3 * RANGE_SIZE)]),
])
def test_split_ranges_covers_the_file_in_512_mib_ranges(size, expected):
    assert split_ranges(size) == expected


def test_split_ranges_with_a_small_range_size_is_contiguous():
    ranges = split_ranges(10, 3)
    assert ranges == [(0, 3), (3, 6), (6, 9), (9, 10)]
    assert sum(end - start for start, end in ranges) == 10


def test_split_ranges_rejects_nonsense():
    with pytest.raises(ValueError):
        split_ranges(-1)
    with pytest.raises(ValueError):
        split_ranges(10, 0)


@pytest.mark.parametrize("size, part_size, count", [
    (0, DEFAULT_PART_SIZE, 1),            # an empty file still gets one (empty) part
    (1, DEFAULT_PART_SIZE, 1),
    (DEFAULT_PART_SIZE, DEFAULT_PART_SIZE, 1),   # exact multiple
    (DEFAULT_PART_SIZE + 1, DEFAULT_PART_SIZE, 2),
    (10, 3, 4),                           # odd size
    (9, 3, 3),
])
def test_part_count(size, part_size, count):
    assert part_count(size, part_size) == count


def test_part_ranges_of_an_odd_size_end_with_a_short_part():
    assert [part_range(n, 10, 3) for n in range(1, 5)] == [(0, 3), (3, 6), (6, 9), (9, 10)]


def test_part_range_of_an_empty_file_is_empty():
    assert part_range(1, 0, 3) == (0, 0)


@pytest.mark.parametrize("number", [0, 5])
def test_part_range_out_of_range(number):
    with pytest.raises(ValueError):
        part_range(number, 10, 3)


@pytest.mark.parametrize("path", ["a.txt", "sub/b.bin", "deep/er/c", "with space/ü.txt", "..hidden", "a..b"])
def test_safe_paths_pass(path):
    assert check_relative_path(path) == path


@pytest.mark.parametrize("path", ["", "/etc/passwd", "../x", "a/../../x", "a/..", "./a", "a//b", "a/", "a\\b",
                                  "..\\x", "a\x00b", "a\nb", ".ngc-partial/x", None])
def test_unsafe_paths_are_refused(path):
    with pytest.raises(UnsafePathError):
        check_relative_path(path)


def test_local_path_stays_inside_the_version_dir(tmp_path):
    root = tmp_path / "m_v1"
    assert local_path(root, "sub/b.bin") == root / "sub" / "b.bin"
    with pytest.raises(UnsafePathError):
        local_path(root, "../escape")


def test_local_path_refuses_a_symlink_that_leads_outside(tmp_path):
    root = tmp_path / "m_v1"
    root.mkdir()
    (root / "link").symlink_to(tmp_path)
    with pytest.raises(UnsafePathError):
        local_path(root, "link/file")


def test_source_paths_must_be_nfc():
    assert source_relative_path(Path("a/b.txt")) == "a/b.txt"
    with pytest.raises(UnsafePathError):
        source_relative_path(Path("cafe\u0301.txt"))


def test_digests_are_base64_of_the_binary_sha256(tmp_path):
    file = tmp_path / "alpha"
    file.write_bytes(b"alpha file\n")
    assert file_sha256(file) == "3r0pJB0P8RTvX1kUBj+nSruXp3Vz4uHDIOrBaR8mRFo="
    assert b64_digest(hashlib.sha256(b"alpha file\n")) == file_sha256(file)
    assert file_sha256(file, start=0, read_size=3) == file_sha256(file)


@pytest.mark.parametrize("size, text", [
    (0, "0.00 B"), (1023, "1023.00 B"), (1024, "1.00 KB"), (60046, "58.64 KB"), (242134466, "230.92 MB"),
    (5 * 1024 ** 3, "5.00 GB"), (3 * 1024 ** 4, "3.00 TB"), (2 * 1024 ** 5, "2048.00 TB"),
])
def test_human_size(size, text):
    assert human_size(size) == text


@pytest.mark.parametrize("seconds, text", [(0.2, "0s"), (38.04, "38s"), (125, "2m 5s"), (3603, "1h 0m 3s")])
def test_human_duration(seconds, text):
    assert human_duration(seconds) == text


def test_speed():
    assert speed(242134466, 38) == "6.08 MB/s"
    assert speed(0, 0) == "0.00 B/s"
