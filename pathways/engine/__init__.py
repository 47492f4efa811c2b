"""The engine: plans and runs steps (keys, caching, the lock, atomic commits, executors) without
knowing what a step computes. Imports only the store, the registry and errors."""
