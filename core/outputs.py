"""Result files that never lose, replace or leak anything.

A benchmark's result file is written once, at the end of a run that may have
taken an hour, so everything about writing it is checked or made safe here:

* :func:`check_output_target` refuses, before training starts (and before
  TensorFlow is imported), a path that cannot or must not take a file:
  ``--result_json=/dev/full`` once *replaced* the device node with a regular
  file, because the writer renamed its temporary file over whatever the path
  named.
* :func:`write_text_atomic` and :func:`write_json` write a temporary file next
  to the real target, fsync it and rename it into place: a reader sees the old
  file or the new one, never half of one, and a failed write (disk full,
  file-size limit, no permission) leaves no temporary file and the old file
  untouched. A symlink stays a symlink (its target gets the new content), an
  existing file keeps its mode and a new one gets the mode the umask asks for.
  ``-`` means standard output.
* :func:`recorded_env_vars`, :func:`masked_command` and :func:`masked_options`
  decide what of the process environment, command line and options goes into a
  record: only variables known to change performance, never one whose name
  looks like a secret, and no values of secret-looking flags.

Imports no TensorFlow.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import re
import stat
import sys
import tempfile
from typing import Any, Iterable, Mapping

from cnnb.errors import ConfigError, OutputError

#: The path that means "standard output" for every output flag.
STDOUT = "-"

#: Environment variables that change how fast TensorFlow and its libraries run;
#: only these are kept with a result (most others are noise, some are secrets).
RECORDED_ENV_NAMES = frozenset({
    "TF_ENABLE_ONEDNN_OPTS", "TF_XLA_FLAGS", "TF_CPP_MIN_LOG_LEVEL", "TF_GPU_THREAD_MODE",
    "TF_GPU_THREAD_COUNT", "TF_FORCE_GPU_ALLOW_GROWTH", "TF_NUM_INTEROP_THREADS",
    "TF_NUM_INTRAOP_THREADS", "TF_GPU_ALLOCATOR", "TF_DETERMINISTIC_OPS", "TF_USE_LEGACY_KERAS",
    "CUDA_VISIBLE_DEVICES", "CUDA_DEVICE_ORDER", "CUDA_LAUNCH_BLOCKING", "CUDA_MODULE_LOADING",
    "CUDA_CACHE_DISABLE", "CUDA_DEVICE_MAX_CONNECTIONS", "NVIDIA_VISIBLE_DEVICES",
    "GOMP_CPU_AFFINITY", "MKL_NUM_THREADS", "MKL_DYNAMIC", "MKL_ENABLE_INSTRUCTIONS",
    "OPENBLAS_NUM_THREADS", "OPENBLAS_CORETYPE", "XLA_FLAGS",
})
#: Whole families of performance switches (OpenMP and Intel's OpenMP runtime, cuDNN,
#: NCCL, oneDNN and cnnb's own).
RECORDED_ENV_PREFIXES = ("OMP_", "KMP_", "TF_CUDNN_", "TF_ONEDNN_", "ONEDNN_", "DNNL_", "NCCL_",
                         "CNNB_")
#: A variable or flag whose name contains one of these is never recorded, even
#: if a list above admits it: the words people use for credentials.
#: (Not "PRIVATE": --datasets_num_private_threads is a performance flag; "KEY" covers
#: private keys.)
SECRET_NAME_PARTS = ("KEY", "TOKEN", "SECRET", "PASS", "PWD", "CREDENTIAL", "AUTH", "COOKIE",
                     "SESSION")
#: Terraform hands its input variables (often credentials) to processes as TF_VAR_*.
SECRET_NAME_PREFIXES = ("TF_VAR_",)
#: What a hidden value is replaced with.
MASK = "***"
_URL_PASSWORD = re.compile(r"(://[^/@:\s]*:)[^/@\s]+@")

_NODE_KINDS = ((stat.S_ISDIR, "a directory"), (stat.S_ISCHR, "a character device"),
               (stat.S_ISBLK, "a block device"), (stat.S_ISFIFO, "a named pipe (FIFO)"),
               (stat.S_ISSOCK, "a socket"))
_FAILURE_REASONS = {
    errno.ENOSPC: "the disk is full: free space on it or choose another path",
    errno.EDQUOT: "the disk quota is used up: free space or choose another path",
    errno.EFBIG: "the file-size limit was reached (see 'ulimit -f'): raise it or choose "
                 "another path",
    errno.EACCES: "permission denied: make the directory writable or choose another path",
    errno.EPERM: "permission denied: make the directory writable or choose another path",
    errno.EROFS: "the file system is read-only: choose another path",
    errno.ENOTDIR: "a part of the path is a file, not a directory: choose another path",
    errno.EEXIST: "a part of the path is a file, not a directory: choose another path",
}


def check_output_target(path: str | None, flag: str = "--result_json") -> None:
    """Refuse, before a run starts, an output path the run could not or must not write.

    Called before TensorFlow is imported so that a bad path costs one line, not
    a training run whose result is then lost (or a device node that gets
    replaced). ``None`` or ``""`` (no output asked for) and ``-`` (stdout) pass.
    Raises :class:`ConfigError` saying what is wrong and what to do.
    """
    if not path or path == STDOUT:
        return
    real = os.path.realpath(path)
    problem = existing_target_problem(path, real) or _directory_problem(os.path.dirname(real))
    if problem:
        raise ConfigError(f"{flag}: {problem}")


def existing_target_problem(path: str, real: str) -> str | None:
    """Why the file system object at ``real`` (``path`` resolved) must not be
    replaced by a result file, or None when it is absent or a writable regular file."""
    shown = path if real == os.path.abspath(path) else f"{path} (a link to {real})"
    try:
        mode = os.stat(real).st_mode
    except (FileNotFoundError, NotADirectoryError):
        return None       # nothing to replace; the folder is judged on its own
    except OSError as error:
        return f"cannot examine {shown}: {error.strerror}; choose another path"
    if stat.S_ISDIR(mode):
        return (f"{shown} is a directory; give the path of a file in it, "
                f"e.g. {os.path.join(path, 'result.json')}")
    if not stat.S_ISREG(mode):
        kind = next(name for is_kind, name in _NODE_KINDS if is_kind(mode))
        return (f"{shown} is {kind}, not a regular file, and cnnb never replaces one; "
                f"give the path of a regular file (or '{STDOUT}' for standard output)")
    if not os.access(real, os.W_OK):
        return f"{shown} is read-only; make it writable (chmod u+w) or choose another path"
    return None


def _directory_problem(directory: str) -> str | None:
    """Why no file can be created in ``directory`` (created first if missing), or None."""
    existing = directory
    while not os.path.exists(existing):     # the writer creates the missing folders
        existing = os.path.dirname(existing)
    if not os.path.isdir(existing):
        return (f"{existing} is not a directory, so nothing can be created in it; "
                "choose another path")
    if os.statvfs(existing).f_flag & os.ST_RDONLY:
        return f"{existing} is on a read-only file system; choose another path"
    if not os.access(existing, os.W_OK | os.X_OK):
        return (f"cannot create files in {existing} (permission denied); make it writable "
                "or choose another path")
    return None


def write_json(path: str, record: Mapping[str, Any]) -> None:
    """Write ``record`` as indented JSON with sorted keys to ``path`` (``-``: stdout),
    atomically; see :func:`write_text_atomic`. Values JSON cannot hold become strings."""
    write_text_atomic(path, json.dumps(record, indent=2, sort_keys=True, default=str) + "\n")


def write_text_atomic(path: str, text: str) -> None:
    """Make ``path`` hold ``text``: before and after, it holds a whole file.

    ``-`` writes to stdout. A symlink is written through (the link stays, its
    target is replaced). Raises :class:`OutputError` (one line) if the target
    is not a regular file or the write fails; the old file is then unchanged
    and no temporary file is left behind.
    """
    if path == STDOUT:
        _write_stdout(text)
        return
    real = os.path.realpath(path)
    problem = existing_target_problem(path, real)
    if problem:
        raise OutputError(f"not writing the file: {problem}")
    try:
        os.makedirs(os.path.dirname(real), exist_ok=True)
        _replace_file(real, text, _mode_for(real))
    except OSError as error:
        reason = _FAILURE_REASONS.get(error.errno,
                                      f"{error.strerror or error}: choose another path")
        raise OutputError(f"could not write {path}: {reason} (an earlier file there is "
                          "unchanged)") from error


def _replace_file(real: str, text: str, mode: int) -> None:
    """Write ``text`` to a temporary file beside ``real``, fsync it, rename it over ``real``."""
    directory = os.path.dirname(real)
    descriptor, temporary = tempfile.mkstemp(prefix=".cnnb-", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            os.fchmod(out.fileno(), mode)
            os.fsync(out.fileno())
        os.replace(temporary, real)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
    _sync_directory(directory)


def _mode_for(real: str) -> int:
    """An existing file's permission bits; for a new file what ``open()`` would give
    (0o666 less the umask), not the 0o600 of mkstemp."""
    try:
        return stat.S_IMODE(os.stat(real).st_mode)
    except FileNotFoundError:
        return 0o666 & ~current_umask()


def current_umask() -> int:
    """The process's umask, read without changing it where Linux allows (os.umask can
    only be read by setting it, which races with other threads creating files)."""
    with contextlib.suppress(OSError, ValueError), \
            open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _sync_directory(directory: str) -> None:
    """Make the rename itself durable; best effort (some file systems refuse)."""
    with contextlib.suppress(OSError):
        descriptor = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)


def _write_stdout(text: str) -> None:
    try:
        sys.stdout.write(text)
        sys.stdout.flush()
    except OSError as error:
        reason = _FAILURE_REASONS.get(error.errno, error.strerror or str(error))
        raise OutputError(f"could not write the result to standard output: {reason}") from error


def looks_secret(name: str) -> bool:
    """Whether an environment variable or flag called ``name`` may hold a credential."""
    upper = name.upper().replace("-", "_")
    return upper.startswith(SECRET_NAME_PREFIXES) or any(p in upper for p in SECRET_NAME_PARTS)


def recorded_env_vars(environ: Mapping[str, str]) -> dict[str, str]:
    """The performance-relevant variables of ``environ`` (sorted), none that looks secret."""
    return {name: _URL_PASSWORD.sub(rf"\1{MASK}@", value)
            for name, value in sorted(environ.items())
            if (name in RECORDED_ENV_NAMES or name.startswith(RECORDED_ENV_PREFIXES))
            and not looks_secret(name)}


def masked_options(values: Mapping[str, Any]) -> dict[str, Any]:
    """Option values as given, except that a secret-looking option (a plugin's
    ``--api_token``) shows ``***`` and a URL's password is hidden."""
    return {name: _masked_value(name, value) for name, value in values.items()}


def _masked_value(name: str, value: Any) -> Any:
    if looks_secret(name) and value not in (None, ""):
        return MASK
    return _URL_PASSWORD.sub(rf"\1{MASK}@", value) if isinstance(value, str) else value


def masked_command(argv: Iterable[str]) -> list[str]:
    """``argv`` with the values of secret-looking flags (``--password=x``,
    ``--api-token x``) and passwords in URLs replaced by ``***``."""
    masked: list[str] = []
    hide_next = False
    for arg in argv:
        if hide_next and not arg.startswith("-"):
            masked.append(MASK)
            hide_next = False
            continue
        name, equals, _value = arg.partition("=")
        secret = arg.startswith("-") and looks_secret(name.lstrip("-"))
        hide_next = secret and not equals
        arg = f"{name}={MASK}" if secret and equals else arg
        masked.append(_URL_PASSWORD.sub(rf"\1{MASK}@", arg))
    return masked
