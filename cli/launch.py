"""``cnnb launch``: a whole cluster on this machine, one ``cnnb run`` per task.

::

    cnnb launch --num_workers=2 -- --model=trivial --device=cpu \\
        --variable_update=collective_all_reduce --num_batches=20

starts every task as a local process on its own free loopback port with the
predecessor's cluster flags (``--job_name``, ``--task_index``,
``--worker_hosts``, ``--ps_hosts``, ``--controller_host``; ``TF_CONFIG`` is
removed from their environment), prints their output line by line prefixed
``[worker 0]``, ``[ps 0]``..., and exits with the chief's status. With
``--num_ps=P`` it also starts P parameter servers and the controller that
drives the parameter-server modes (``parameter_server``,
``distributed_replicated``); there the controller is the chief, and the
workers and servers, which only serve, are stopped when it has finished (they
also stop by themselves once the controller has gone).

Nothing is left behind or hangs: if a task fails (exits non-zero, or a
server exits at all) the others get SIGTERM, then SIGKILL after
``--grace`` seconds, and the launch exits non-zero naming the task; Ctrl-C
(or SIGTERM to the launcher) stops every task the same way. Imports no
TensorFlow itself.
"""

from __future__ import annotations

import dataclasses
import os
import signal
import socket
import subprocess
import sys
import threading
import time

import click

from cnnb.errors import ConfigError

CLUSTER_FLAGS = ("job_name", "task_index", "worker_hosts", "ps_hosts", "controller_host")


@dataclasses.dataclass
class Task:
    """One process of the cluster."""

    job: str                    # worker, ps or controller (the --job_name values)
    index: int
    address: str
    process: subprocess.Popen | None = None
    reader: threading.Thread | None = None

    @property
    def label(self) -> str:
        return f"{self.job} {self.index}"


def free_ports(count: int, host: str) -> list[int]:
    """``count`` distinct ports the OS reports free on ``host`` (bound to port 0
    together, then released just before the tasks start)."""
    sockets = [socket.socket() for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind((host, 0))
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def plan_tasks(num_workers: int, num_ps: int, host: str) -> list[Task]:
    """Workers, then parameter servers and (with servers) the controller."""
    jobs = [("worker", num_workers), ("ps", num_ps), ("controller", 1 if num_ps else 0)]
    ports = iter(free_ports(num_workers + num_ps + (1 if num_ps else 0), host))
    return [Task(job, index, f"{host}:{next(ports)}") for job, count in jobs
            for index in range(count)]


def task_command(task: Task, tasks: list[Task], run_args: list[str]) -> list[str]:
    """``python -m cnnb run RUN_ARGS --job_name=... --task_index=... --*_hosts=...``."""
    def hosts(job):
        return ",".join(t.address for t in tasks if t.job == job)
    flags = [f"--job_name={task.job}", f"--task_index={task.index}",
             f"--worker_hosts={hosts('worker')}"]
    if hosts("ps"):
        flags += [f"--ps_hosts={hosts('ps')}", f"--controller_host={hosts('controller')}"]
    return [sys.executable, "-m", "cnnb", "run", *run_args, *flags]


def check_run_args(run_args: list[str]) -> None:
    """The launcher owns the cluster flags; a user's would contradict it."""
    for arg in run_args:
        name = arg.lstrip("-").split("=", 1)[0].replace("-", "_")
        if arg.startswith("--") and name in CLUSTER_FLAGS:
            raise ConfigError(f"cnnb launch sets {arg.split('=')[0]} itself; leave it out of the "
                              "flags after '--' (to run on several machines, use cnnb run with "
                              "the cluster flags on each, see the README).")


def stream(task: Task, lock: threading.Lock) -> None:
    """Copy the task's output to ours, each line prefixed with the task."""
    prefix = f"[{task.label}] "
    for raw in iter(task.process.stdout.readline, b""):
        line = raw.decode(errors="replace").rstrip("\n")
        with lock:
            click.echo(prefix + line)
    task.process.stdout.close()


def start(tasks: list[Task], run_args: list[str]) -> None:
    lock = threading.Lock()
    env = {k: v for k, v in os.environ.items() if k != "TF_CONFIG"}
    env.setdefault("PYTHONUNBUFFERED", "1")
    for task in tasks:
        task.process = subprocess.Popen(task_command(task, tasks, run_args), env=env,
                                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                        stdin=subprocess.DEVNULL, start_new_session=True)
        click.echo(f"cnnb launch: started {task.label} on {task.address} "
                   f"(pid {task.process.pid})")
        task.reader = threading.Thread(target=stream, args=(task, lock), daemon=True)
        task.reader.start()


def stop(tasks: list[Task], grace: float) -> None:
    """SIGTERM to every running task, SIGKILL to those still running after ``grace`` s."""
    running = [t for t in tasks if t.process is not None and t.process.poll() is None]
    for task in running:
        _signal(task, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while any(t.process.poll() is None for t in running) and time.monotonic() < deadline:
        time.sleep(0.1)
    for task in running:
        if task.process.poll() is None:
            _signal(task, signal.SIGKILL)
            task.process.wait()
    for task in tasks:
        if task.reader is not None:
            task.reader.join(timeout=2)


def _signal(task: Task, number: int) -> None:
    try:
        os.killpg(task.process.pid, number)     # the task and anything it started
    except ProcessLookupError:
        pass


def describe_status(code: int) -> str:
    if code < 0:
        try:
            return f"was killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"was killed by signal {-code}"
    return f"exited with status {code}"


def failure(tasks: list[Task]) -> Task | None:
    """A task that failed: non-zero exit, or a server that exited at all while
    the controller still runs (parameter servers, and the workers of the
    parameter-server modes, serve until the controller has finished)."""
    controllers = [t for t in tasks if t.job == "controller"]
    running = any(t.process.poll() is None for t in controllers)
    for task in tasks:
        code = task.process.poll()
        serves = task.job == "ps" or (task.job == "worker" and bool(controllers))
        if code is not None and (code != 0 or (serves and running)):
            return task
    return None


def supervise(tasks: list[Task], grace: float, finish_timeout: float) -> int:
    """Wait for the chief; stop everything on a failure. Returns the exit status."""
    chief = next((t for t in tasks if t.job == "controller"), tasks[0])
    while True:
        failed = failure(tasks)
        if failed is not None:
            code = failed.process.returncode
            stop(tasks, grace)
            click.echo(f"Error: cnnb launch: {failed.label} {describe_status(code)}; stopped "
                       "the other tasks.", err=True)
            return code if code > 0 else 1
        if chief.process.poll() is not None:
            return finish(tasks, chief, grace, finish_timeout)
        time.sleep(0.2)


def finish(tasks: list[Task], chief: Task, grace: float, finish_timeout: float) -> int:
    """The chief is done: give the other workers ``finish_timeout`` s to end
    too, then stop the servers (they never end by themselves)."""
    deadline = time.monotonic() + finish_timeout
    workers = [t for t in tasks if t.job == "worker" and t is not chief
               and chief.job == "worker"]        # parameter-server workers only serve
    while any(t.process.poll() is None for t in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    late = [t.label for t in workers if t.process.poll() is None]
    failed = [t for t in workers if t.process.returncode not in (None, 0)]
    stop(tasks, grace)
    if late:
        click.echo(f"Warning: cnnb launch: {', '.join(late)} still running {finish_timeout:g} s "
                   "after the chief finished; stopped.", err=True)
    for task in failed:
        click.echo(f"Error: cnnb launch: {task.label} "
                   f"{describe_status(task.process.returncode)}.", err=True)
    code = chief.process.returncode
    return code if code else (1 if failed else 0)


@click.command("launch", context_settings={"ignore_unknown_options": True})
@click.option("--num_workers", "--num-workers", type=click.IntRange(1), default=2,
              show_default=True, help="Worker processes to start.")
@click.option("--num_ps", "--num-ps", type=click.IntRange(0), default=0, show_default=True,
              help="Parameter-server processes (with a controller that drives them).")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address the tasks listen on (loopback: this machine only).")
@click.option("--grace", type=click.FloatRange(0), default=10.0, show_default=True,
              help="Seconds a task gets to stop after SIGTERM before SIGKILL.")
@click.argument("run_args", nargs=-1, type=click.UNPROCESSED)
def launch_command(num_workers, num_ps, host, grace, run_args):
    """Start a cluster of 'cnnb run' processes on this machine; flags after '--'
    go to every 'cnnb run'. Exits with the chief's status.

    \b
    Example:
      cnnb launch --num_workers=2 -- --model=trivial --device=cpu \\
          --variable_update=collective_all_reduce --num_batches=20
    """
    run_args = list(run_args)
    check_run_args(run_args)
    tasks = plan_tasks(num_workers, num_ps, host)
    previous = signal.signal(signal.SIGTERM, _raise_interrupt)
    try:
        start(tasks, run_args)
        code = supervise(tasks, grace, finish_timeout=max(30.0, 3 * grace))
    except KeyboardInterrupt:
        click.echo("cnnb launch: interrupted; stopping every task.", err=True)
        stop(tasks, grace)
        code = 130
    finally:
        signal.signal(signal.SIGTERM, previous)
    sys.exit(code)


def _raise_interrupt(signum, frame):
    raise KeyboardInterrupt
