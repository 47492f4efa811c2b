"""The stage adapters: each stage is one function that takes upstream outputs and the
experiment's settings, calls the libraries (``nets``, ``analysis``, ``explain``, ``store``) and
reports progress; the registry declares them and the plan applies them to an experiment."""
