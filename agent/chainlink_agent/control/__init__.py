"""The controllers: the runtime (queue, worker) and the reconcilers of jobs and bridges."""
