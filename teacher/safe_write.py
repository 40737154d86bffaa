"""Write a tree of files without deleting or overwriting anything the tool did not write.

``write_files(outdir, files, manifest, tool)`` writes ``files`` ({relative path:
bytes}) under ``outdir`` and records each file's checksum in ``outdir/manifest``.
Before it writes anything it checks every target, and raises ``UnsafeWrite``
(having written nothing) if

- a path from ``outdir`` down to a target is a symbolic link (it would write
  through it, e.g. into the teacher's own ``_config.yml``);
- a target exists but is not in the manifest (someone else's file), or differs
  from the checksum recorded there (changed since: someone's work);
- ``outdir`` is not empty and has no manifest.

A target named in ``keep_edited`` that was changed since is not refused but kept as it is
(a configuration file the user is invited to edit); the rest is written.

The manifest lists what a run is about to write before it writes it (``pending``), so a
run killed part-way can be run again: a file that holds what the killed run meant to
write is the tool's own.

It never deletes: files written by an earlier run and no longer produced stay.
"""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path


class UnsafeWrite(ValueError):
    """Writing would delete, overwrite or write through something: nothing was written."""


def _digest(data):
    return hashlib.sha256(data).hexdigest()


def _symlink_in(outdir, rel):
    """The first path from outdir down to outdir/rel that is a symbolic link, or None."""
    path = outdir
    for part in Path(rel).parts:
        path = path / part
        if path.is_symlink():
            return path
    return None


def _recorded(outdir, manifest):
    """The checksums an earlier run recorded, {relative path: [checksum, ...]} ({} if none):
    each file's last written content and what a run killed part-way meant to write; refuse
    a foreign non-empty outdir."""
    path = outdir / manifest
    if path.is_symlink():
        raise UnsafeWrite(f"{path} is a symbolic link: refusing to write through it")
    if path.exists():
        try:
            record = json.loads(path.read_text())
            files, pending = record["files"], record.get("pending", {})
            if isinstance(files, dict) and isinstance(pending, dict):
                return {rel: [files.get(rel), pending.get(rel)] for rel in {*files, *pending}}
        except (ValueError, KeyError, TypeError):
            pass
        raise UnsafeWrite(f"{path} is not a list of files written by this tool: choose an "
                          "empty directory")
    if outdir.exists() and any(not p.name.startswith(f".{manifest}.tmp-")  # a killed run's
                               for p in outdir.iterdir()):
        raise UnsafeWrite(f"{str(outdir)!r} is not empty and was not written by this tool "
                          f"(no {manifest}): choose an empty directory")
    return {}


def _save(outdir, manifest, tool, files, pending):
    path, tmp = outdir / manifest, outdir / f".{manifest}.tmp-{os.getpid()}"
    tmp.write_text(json.dumps({"written_by": tool, "files": files, "pending": pending},
                              indent=1, sort_keys=True) + "\n")
    os.replace(tmp, path)


def write_files(outdir, files, manifest, tool, keep_edited=()):
    """Write ``files`` under ``outdir`` (see the module docstring); return (the paths written,
    the relative paths of ``keep_edited`` left alone because they were changed since)."""
    outdir = Path(outdir)
    kept = []
    if outdir.exists() and not outdir.is_dir():
        raise UnsafeWrite(f"{str(outdir)!r} is a file, not a directory")
    recorded = _recorded(outdir, manifest)
    problems = []
    for rel in files:
        link = _symlink_in(outdir, rel)
        if link is not None:
            problems.append(f"{link} is a symbolic link (to {os.readlink(link)}): refusing to "
                            "write through it")
            continue
        target = outdir / rel
        if not target.exists():
            continue
        if not target.is_file():
            problems.append(f"{target} is in the way (not a file)")
        elif rel not in recorded:
            problems.append(f"{target} exists and was not written by {tool}")
        elif _digest(target.read_bytes()) not in recorded[rel]:
            if rel in keep_edited:
                kept.append(rel)
                continue
            problems.append(f"{target} was changed since {tool} wrote it (your work?): move it "
                            "away, or choose another directory")
    if problems:
        raise UnsafeWrite("nothing written:\n  " + "\n  ".join(problems))

    outdir.mkdir(parents=True, exist_ok=True)
    files = {rel: data for rel, data in files.items() if rel not in kept}
    done = {}                   # what each file holds now, of what this tool wrote
    for rel, sums in recorded.items():
        target = outdir / rel
        now = _digest(target.read_bytes()) if target.is_file() and sums[1] else None
        done[rel] = now if now is not None and now == sums[1] else sums[0]
    done = {rel: digest for rel, digest in done.items() if digest is not None}
    # first the intent, so that a run killed part-way can be resumed
    _save(outdir, manifest, tool, done, {rel: _digest(data) for rel, data in files.items()})
    written = []
    for rel, data in files.items():
        target = outdir / rel
        if not (target.exists() and target.read_bytes() == data):
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = target.with_name(f".{target.name}.tmp-{os.getpid()}")
            tmp.write_bytes(data)
            os.replace(tmp, target)           # replaces the file; never writes through
            written.append(target)
        done[rel] = _digest(data)
    _save(outdir, manifest, tool, done, {})
    return written, kept
