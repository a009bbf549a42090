"""Resume state: partial downloads (bytes per range) and upload records (upload id, parts sent)."""

from __future__ import annotations

import os

from ngc_registry.client.transfer_state import PartialDownload, UploadRecord, UploadState, upload_state_path


def partial(tmp_path, size=10, sha="abc", range_size=4):
    return PartialDownload(tmp_path, "sub/file.bin", size, sha, range_size)


def test_a_fresh_partial_download_has_every_range_to_do(tmp_path):
    download = partial(tmp_path)
    download.load()
    assert download.remaining_ranges() == [(0, (0, 4)), (4, (4, 8)), (8, (8, 10))]
    assert download.bytes_on_disk == 0


def test_written_bytes_survive_a_new_process_and_shorten_the_ranges(tmp_path):
    first = partial(tmp_path)
    first.load()
    fd = first.open_for_writing()
    os.pwrite(fd, b"abcd", 0)
    os.pwrite(fd, b"e", 4)
    os.close(fd)
    first.record(0, 4)
    first.record(4, 1, force=True)

    second = partial(tmp_path)
    second.load()
    assert second.remaining_ranges() == [(4, (5, 8)), (8, (8, 10))]
    assert second.bytes_on_disk == 5
    assert second.data_path.stat().st_size == 10


def test_state_of_another_file_version_is_discarded(tmp_path):
    first = partial(tmp_path, sha="old")
    first.load()
    os.close(first.open_for_writing())
    first.record(0, 4, force=True)

    changed = partial(tmp_path, sha="new")
    changed.load()
    assert changed.written == {}
    assert not changed.data_path.exists()


def test_state_without_its_data_file_starts_again(tmp_path):
    first = partial(tmp_path)
    first.load()
    first.record(0, 4, force=True)
    again = partial(tmp_path)
    again.load()
    assert again.written == {}


def test_discard_and_forget(tmp_path):
    download = partial(tmp_path)
    download.load()
    os.close(download.open_for_writing())
    download.save()
    download.forget_state()
    assert download.data_path.exists() and not download.state_path.exists()
    download.discard()
    assert not download.data_path.exists()


def test_partial_files_live_in_the_reserved_directory(tmp_path):
    download = partial(tmp_path)
    assert download.data_path.parent == tmp_path / ".ngc-partial"


def test_upload_record_round_trip_and_parts(tmp_path):
    path = upload_state_path(tmp_path, "o/t/m:1", tmp_path / "a.bin")
    state = UploadState(path)
    state.save(UploadRecord(10, 123, "sha", "up-1", 4, []))
    state.add_part(2)
    state.add_part(2)
    state.add_part(1)
    loaded = UploadState(path).load(10, 123)
    assert loaded == UploadRecord(10, 123, "sha", "up-1", 4, [2, 1])


def test_upload_record_of_a_changed_file_is_dropped(tmp_path):
    path = upload_state_path(tmp_path, "o/t/m:1", tmp_path / "a.bin")
    UploadState(path).save(UploadRecord(10, 123, "sha"))
    assert UploadState(path).load(11, 123) is None
    assert not path.exists()


def test_upload_state_paths_differ_by_target_and_file(tmp_path):
    a = upload_state_path(tmp_path, "o/t/m:1", tmp_path / "a")
    assert a != upload_state_path(tmp_path, "o/t/m:2", tmp_path / "a")
    assert a != upload_state_path(tmp_path, "o/t/m:1", tmp_path / "b")
    assert a.parent == tmp_path and len(a.name) == 64


def test_damaged_upload_state_is_ignored(tmp_path):
    path = upload_state_path(tmp_path, "o/t/m:1", tmp_path / "a")
    path.write_text("{not json")
    assert UploadState(path).load(1, 1) is None
    path.write_text('{"unexpected": 1}')
    assert UploadState(path).load(1, 1) is None


def test_removing_a_state_file_removes_what_a_killed_run_left_beside_it(tmp_path):
    """A run killed between writing a state's temporary copy and renaming it leaves `.<name>.<pid>.<tid>.tmp`; the
    run that finishes the transfer removes it with the state (seen in the e2e upload-kill test)."""
    state = UploadState(tmp_path / "abc")
    state.save(UploadRecord(size=1, mtime_ns=2, sha256="x"))
    stray = tmp_path / ".abc.4242.1234.tmp"
    stray.write_text("")
    other = tmp_path / ".abcd.4242.1234.tmp"  # another file's state is not touched
    other.write_text("")
    state.remove()
    assert sorted(p.name for p in tmp_path.iterdir()) == [".abcd.4242.1234.tmp"]

    partial = PartialDownload(tmp_path, "f.bin", 10, None, 4)
    partial.save()
    (partial.state_path.parent / f".{partial.state_path.name}.1.2.tmp").write_text("")
    partial.forget_state()
    assert not any(p.name.startswith(f".{partial.state_path.name}") for p in partial.state_path.parent.iterdir())
