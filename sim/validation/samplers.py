"""Samplers for pyabc's ABC-SMC: one reproducible sampler on any executor, and pyabc's own dynamic ones.

pyabc's parallel samplers (``MulticoreEvalParallelSampler``, ``DaskDistributedSampler``) reseed every worker
from the operating system's entropy (``np.random.seed()``), so their posterior differs from run to run and
from the single-core sampler's. :class:`OrderedSampler` keeps the project's rule (one seed, one result, on 1
worker or 8, locally or on a cluster): proposal ``j`` of generation ``t`` draws its parameters with
``np.random`` seeded from ``(seed, t, j)``; proposals run on any executor (in-process, local processes, a Dask
cluster) and are taken *in index order* until ``n`` are accepted, exactly what one core would have done.
Proposals evaluated beyond that point are discarded (at most one batch in flight), so parallel runs waste a
little work and give the single-core answer. The dynamic samplers stay available (``dynamic = True``) for
models whose run times vary a lot.
"""

from __future__ import annotations

import concurrent.futures as cf
import random
import threading
from collections.abc import Callable

import cloudpickle
import numpy as np
import pyabc
from pyabc.sampler import Sampler


def proposal_seed(seed: int, t: int, j: int) -> int:
    """The np.random seed of proposal ``j`` of generation ``t`` (t = -1 is pyabc's calibration sample)."""
    return int(np.random.SeedSequence([int(seed), int(t) + 1, int(j)]).generate_state(1)[0])


#: numpy's legacy global generator, which pyabc draws from, is one per process: threads of one worker process
#: (Dask workers with several threads, or several in-process workers) take turns at proposals.
_GLOBAL_RNG = threading.Lock()


def simulate_proposal(payload, seed: int):
    """Run one proposal (a picklable task): seed numpy's and Python's global generators, then pyabc's
    ``simulate_one`` (which draws the parameters, runs the model and judges acceptance)."""
    simulate_one = cloudpickle.loads(payload) if isinstance(payload, bytes) else payload
    with _GLOBAL_RNG:
        np.random.seed(seed)  # noqa: NPY002 (pyabc draws from numpy's legacy global generator)
        random.seed(seed)
        return simulate_one()


class _InProcess(cf.Executor):
    """An executor that runs each task when it is submitted (the single-core case)."""

    def submit(self, fn, /, *args, **kwargs):
        f: cf.Future = cf.Future()
        try:
            f.set_result(fn(*args, **kwargs))
        except BaseException as exc:  # handed to the caller through the future, as any executor does
            f.set_exception(exc)
        return f


class OrderedSampler(Sampler):
    """Reproducible ABC-SMC sampling on an executor (see the module's docstring).

    ``executor``: a ``concurrent.futures.Executor`` (None = in this process); ``in_flight``: proposals
    submitted at once (about twice the workers); ``scatter``: a function that ships the generation's
    ``simulate_one`` to the workers once (Dask's ``client.scatter``); ``progress(t, evaluated, accepted)``
    is called as proposals are taken.
    """

    def __init__(
        self,
        seed: int,
        executor: cf.Executor | None = None,
        in_flight: int = 1,
        scatter: Callable | None = None,
        progress: Callable | None = None,
        cancel_leftovers: bool = True,
    ):
        super().__init__()
        self.seed = int(seed)
        self.executor = executor or _InProcess()
        self.in_flight = max(1, int(in_flight))
        self.scatter = scatter
        self.progress = progress
        self.cancel_leftovers = cancel_leftovers

    def sample_until_n_accepted(self, n, simulate_one, t, *, max_eval=np.inf, all_accepted=False, ana_vars=None):
        local = isinstance(self.executor, _InProcess)
        payload = simulate_one if local else cloudpickle.dumps(simulate_one)
        if self.scatter is not None:
            payload = self.scatter(payload)
        sample = self._create_empty_sample()
        done: dict[int, object] = {}
        running: dict[cf.Future, int] = {}
        submitted = taken = accepted = 0
        try:
            while accepted < n and taken < max_eval:
                while len(running) < self.in_flight and submitted < max_eval:
                    fut = self.executor.submit(simulate_proposal, payload, proposal_seed(self.seed, t, submitted))
                    running[fut] = submitted
                    submitted += 1
                finished, _ = cf.wait(list(running), return_when=cf.FIRST_COMPLETED)
                for fut in finished:
                    done[running.pop(fut)] = fut.result()
                while taken in done and accepted < n:
                    particle = done.pop(taken)
                    sample.append(particle)
                    taken += 1
                    accepted += bool(particle.accepted)
                if self.progress is not None:
                    self.progress(t, taken, accepted)
        finally:
            if self.cancel_leftovers:  # else they finish in the background (at most `in_flight` proposals)
                for fut in running:
                    fut.cancel()
        self.nr_evaluations_ = taken
        if accepted < n:
            sample.ok = False
        return sample


def make_sampler(kind: str, seed: int, *, workers: int = 1, scheduler=None, dynamic: bool = False, progress=None):
    """(sampler, close) for ``kind`` = "single" | "multicore" | "dask". ``scheduler``: a Dask address, a
    scheduler file, or a ``distributed.Client``. ``close()`` releases the workers or the client."""
    if kind == "single":
        if dynamic:
            return pyabc.sampler.SingleCoreSampler(), lambda: None
        return OrderedSampler(seed, progress=progress), lambda: None
    if kind == "multicore":
        if dynamic:
            return pyabc.sampler.MulticoreEvalParallelSampler(n_procs=workers), lambda: None
        import multiprocessing

        pool = cf.ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"))
        return OrderedSampler(seed, pool, in_flight=2 * workers, progress=progress), lambda: pool.shutdown(
            cancel_futures=True
        )
    if kind == "dask":
        from distributed import Client

        own = not isinstance(scheduler, Client)
        if own:
            if scheduler is None:
                raise ValueError("the dask sampler needs a scheduler address (--scheduler or DASK_SCHEDULER_ADDRESS)")
            client = (
                Client(scheduler_file=str(scheduler))
                if str(scheduler).endswith(".json")
                else Client(str(scheduler), timeout="20s")
            )
        else:
            client = scheduler
        cores = max(1, sum(client.ncores().values()))

        def close():
            if own:
                client.close()

        if dynamic:
            return pyabc.sampler.DaskDistributedSampler(dask_client=client, batch_size=1), close
        executor = client.get_executor(pure=False)
        return (
            OrderedSampler(
                seed,
                executor,
                in_flight=2 * cores,
                scatter=lambda p: client.scatter(p, broadcast=True),
                progress=progress,
                cancel_leftovers=False,  # a cancelled Dask future logs an error through its executor wrapper
            ),
            close,
        )
    raise ValueError(f"sampler must be 'single', 'multicore' or 'dask', not {kind!r}")
